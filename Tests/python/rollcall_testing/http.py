"""Plain HTTP to the servers under test, one request per fresh connection."""
import base64
import http.client
import json


def http_json(port, method, path, body=None, timeout=1.0, token=None):
    """One request to 127.0.0.1:`port`; returns (status, the JSON body or None). Raises OSError when
    nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
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


def basic_auth(password, user="operator"):
    """An HTTP Basic `Authorization` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
