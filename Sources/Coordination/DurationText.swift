extension Duration {
    /// Parses `500ms`, `2s`, `1m`, `1h` (also `250us`, `1.5s`); nil for anything else or a negative value.
    public init?(text: String) {
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ms", 1e6), ("us", 1e3), ("µs", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        let trimmed = text.trimmingWhitespace()
        guard let unit = units.first(where: { trimmed.hasSuffix($0.suffix) }),
            let value = Double(trimmed.dropLast(unit.suffix.count)), value.isFinite, value >= 0,
            value * unit.nanoseconds < 9e18
        else { return nil }
        self = .nanoseconds(Int64((value * unit.nanoseconds).rounded()))
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        var view = Substring(self)
        while view.first?.isWhitespace == true { view.removeFirst() }
        while view.last?.isWhitespace == true { view.removeLast() }
        return view
    }
}

/// The random id a worker process makes at start: 1–64 characters of `[A-Za-z0-9._-]`.
public enum InstanceID {
    /// Whether `text` is a valid instance id.
    public static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-")
            }
    }

    public static let rule = "an instance id is 1-64 characters of [A-Za-z0-9._-]"
}
