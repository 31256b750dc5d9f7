"""The one piece of HTTP/1.1 the load clients need: read a response off a keep-alive connection."""


async def read_response(reader):
    """(status code as text, body bytes) of the next response; ("closed", b"") if the server closed."""
    status = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    return (status.split()[1].decode() if status else "closed"), body
