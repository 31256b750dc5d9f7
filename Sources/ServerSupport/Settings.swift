import ArgumentParser
import Coordination
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
    /// LOG_LEVEL: trace, debug, info, notice, warning, error or critical (default info).
    public func logLevel(_ flag: String?) throws -> Logger.Level {
        let level = flag ?? environment["LOG_LEVEL"] ?? "info"
        guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
        return parsed
    }
}
