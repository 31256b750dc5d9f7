import Foundation
import Hummingbird
import NIOCore

extension Response {
    /// `value` as a JSON body.
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        json(encoded: ByteBuffer(bytes: (try? JSONEncoder().encode(value)) ?? Data()), status: status)
    }

    /// A JSON body already encoded (a route that writes its JSON itself).
    public static func json(encoded body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// A Prometheus text exposition.
    /// docs/openapi.yaml, as `GET /v1/openapi.yaml` serves it on both servers.
    public static func openAPIDocument() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }

    public static func prometheus(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
