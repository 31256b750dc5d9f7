import ServerSupport
import Testing

struct StrictJSONTests {
    @Test(
        "RFC 8259 texts pass",
        arguments: [
            #"{"instance": "x"}"#, #" {"held": [1, 2, 3], "n": -0.5e+3, "t": true, "f": false, "z": null} "#, "[]", "{}", "0",
            #""\u00e9\n""#,
            #"{"a": {"b": [{"c": []}]}}"#,
        ])
    func valid(text: String) { #expect(StrictJSON.problem(in: Array(text.utf8)) == nil) }

    @Test(
        "anything else is named with its position: trailing commas, single quotes, comments, leading zeros, garbage after the value",
        arguments: [
            #"{"instance": "x",}"#, #"{"held": [1,]}"#, "[,]", #"{'instance': 'x'}"#, #"{"a": 1} // c"#, #"{"a": 01}"#, #"{"a": 1}x"#,
            #"{"a" 1}"#, #"{"a": tru}"#, #"{"a": "\x"}"#, "{\"a\": \"\u{1}\"}", #"{"a": 1.}"#, #"{"a": .5}"#, "", " ", #"{"a": NaN}"#,
            String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
        ])
    func invalid(text: String) { #expect(StrictJSON.problem(in: Array(text.utf8)) != nil) }
}
