"""Plain HTTP to the servers under test, one request per fresh connection."""
import http.client
import json


def http_json(port, method, path, body=None, timeout=1.0):
    """One request to 127.0.0.1:`port`; returns (status, the JSON body or None). Raises OSError when
    nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None
    except (http.client.HTTPException, ValueError) as error:
        raise OSError(str(error)) from error
    finally:
        conn.close()
