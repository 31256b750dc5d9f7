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

extension Duration {
    /// This duration times `factor`, to the nanosecond.
    public func scaled(by factor: Double) -> Duration {
        let (seconds, attoseconds) = components
        let nanoseconds = (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) * factor
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    /// Whole nanoseconds in this duration, rounded down.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole milliseconds in this duration, rounded down.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
