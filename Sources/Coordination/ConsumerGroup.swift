/// The Kafka consumer group of a worker number: `prefix-number`, e.g. `inbox-3`.
///
/// The number of groups ever created is bounded by the peak number of live workers, because numbers
/// are reused. The control plane's heartbeat script writes the name into the `workers` hash from
/// `stem(prefix:)`, so this type is the one place that knows the format.
public enum ConsumerGroup {
    /// What comes before the number: `"\(prefix)-"`.
    public static func stem(prefix: String) -> String { prefix + "-" }

    /// The group of `number`.
    public static func name(prefix: String, number: WorkerNumber) -> String { stem(prefix: prefix) + number.description }

    /// Whether `prefix` may start a group name: 1-64 ASCII letters, digits, `.`, `_` or `-`.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        (1...64).contains(prefix.utf8.count) && prefix.utf8.allSatisfy { isAllowed($0) || $0 == UInt8(ascii: "_") }
    }

    public static let prefixRule = "a consumer group prefix is 1-64 ASCII letters, digits, '.', '_' or '-'"
}

/// ASCII letters, digits, `.` and `-`: the bytes shared by names, instance ids and group prefixes.
func isAllowed(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
}
