import ArgumentParser
import Coordination
import Foundation
import Logging

/// Reads one setting from a flag or its environment variable, with a validation error that names both.
public struct Settings: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    /// A number from the flag, else the variable, else `fallback`; it must lie in `range`.
    public func number<T: LosslessStringConvertible & Comparable>(_ flag: T?, _ variable: String, _ fallback: T, in range: ClosedRange<T>)
        throws
        -> T
    {
        let value: T
        if let flag {
            value = flag
        } else if let text = environment[variable] {
            guard let parsed = T(text) else { throw ValidationError("\(variable)=\(text) is not a valid \(T.self)") }
            value = parsed
        } else {
            value = fallback
        }
        guard range.contains(value) else { throw ValidationError("\(variable) must be in \(range), got \(value)") }
        return value
    }

    public func duration(_ flag: String?, _ variable: String, _ fallback: Duration) throws -> Duration {
        guard let text = flag ?? environment[variable] else { return fallback }
        guard let duration = Duration(text: text), duration > .zero else {
            throw ValidationError("\(variable)=\(text) is not a duration like 500ms, 2s or 1m")
        }
        return duration
    }
}

extension Settings {
    /// A secret from `variable`, or from the file `variable_FILE` names (a Kubernetes Secret mounted as a
    /// volume), read once at start. Setting both is refused, as is a file that cannot be read or is empty.
    /// Trailing line breaks are dropped: `echo` and most editors leave one. An empty `variable` counts as unset.
    public func secret(_ variable: String) throws -> String? {
        let fileVariable = variable + "_FILE"
        let value = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = environment[fileVariable], !path.isEmpty else { return value }
        guard value == nil else { throw ValidationError("set \(variable) or \(fileVariable), not both") }
        let contents = try Self.readText(path, for: fileVariable)
        var secret = Substring(contents)
        while let last = secret.last, last.isNewline { secret.removeLast() }
        guard !secret.isEmpty else { throw ValidationError("\(fileVariable)=\(path) is empty") }
        return String(secret)
    }

    /// The file's text, or an error with the operating system's reason ("Permission denied").
    private static func readText(_ path: String, for variable: String) throws -> String {
        func refused(_ reason: String) -> ValidationError { ValidationError("\(variable)=\(path) cannot be read: \(reason)") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw refused(String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { throw refused("not a regular file") }
        guard let data = try? handle.readToEnd() else { throw refused(String(cString: strerror(errno))) }
        guard let text = String(data: data, encoding: .utf8) else { throw refused("not UTF-8 text") }
        return text
    }

    /// LOG_LEVEL: trace, debug, info, notice, warning, error or critical (default info).
    public func logLevel(_ flag: String?) throws -> Logger.Level {
        let level = flag ?? environment["LOG_LEVEL"] ?? "info"
        guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
        return parsed
    }
}
