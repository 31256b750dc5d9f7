import Foundation

// EmbedLuaTool OUTPUT FILE...: writes OUTPUT, a Swift file with one static string per script among
// FILE... (a `.lua` file not inside an `includes` folder), named after the file. `--- @include "x/y"`
// lines are replaced by the file `x/y.lua` beside the script, each included once per script, in the
// order first asked for. Run by the EmbedLua build plugin; fails naming the file it cannot read.

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedLuaTool OUTPUT FILE...\n".utf8))
    exit(2)
}
let files = arguments.dropFirst().map { URL(fileURLWithPath: $0) }

func read(_ url: URL) -> String {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
        FileHandle.standardError.write(Data("EmbedLuaTool: cannot read \(url.path)\n".utf8))
        exit(1)
    }
    return text
}

/// `url`'s text with its includes expanded; `included` holds the files already in the script.
func expand(_ url: URL, root: URL, included: inout Set<String>) -> String {
    var lines: [String] = []
    for line in read(url).split(separator: "\n", omittingEmptySubsequences: false) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("--- @include \""), trimmed.hasSuffix("\"") else {
            lines.append(String(line))
            continue
        }
        let path = String(trimmed.dropFirst("--- @include \"".count).dropLast())
        guard included.insert(path).inserted else { continue }
        let file = root.appending(path: path + ".lua")
        lines.append("-- \(path).lua")
        lines.append(expand(file, root: root, included: &included))
    }
    return lines.joined(separator: "\n")
}

var swift = """
    // Generated at build time by the EmbedLua plugin from the `.lua` files; edit those.

    /// The lease store's Lua scripts, includes expanded, by file name.
    enum LuaSource {

    """
for file in files.sorted(by: { $0.path < $1.path }) where !file.pathComponents.contains("includes") {
    var included: Set<String> = []
    let source = expand(file, root: file.deletingLastPathComponent(), included: &included)
    guard !source.contains("\"\"\"####") else {
        FileHandle.standardError.write(Data("EmbedLuaTool: \(file.path) contains the raw-string delimiter\n".utf8))
        exit(1)
    }
    let name = file.deletingPathExtension().lastPathComponent
    swift += "    static let \(name) = ####\"\"\"\n\(source)\n\"\"\"####\n"
}
swift += "}\n"
do {
    try swift.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("EmbedLuaTool: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
