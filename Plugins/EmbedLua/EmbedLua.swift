import Foundation
import PackagePlugin

/// Embeds a target's Lua scripts into it at build time: every `*.lua` under the target's `lua` folders
/// (excluded from its sources) becomes a string of the generated `LuaSource` enum, with its
/// `--- @include "…"` lines replaced by the included files. The `.lua` files are the one source; no
/// generated file is committed, so nothing can drift.
@main
struct EmbedLua: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        var inputs: [URL] = []
        let files = FileManager.default.enumerator(at: target.directoryURL, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            if file.pathExtension == "lua", file.pathComponents.contains("lua") { inputs.append(file) }
        }
        guard !inputs.isEmpty else { return [] }
        let output = context.pluginWorkDirectoryURL.appending(path: "LuaSource.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) Lua files into \(target.name)",
                executable: try context.tool(named: "EmbedLuaTool").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
