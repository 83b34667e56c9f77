namespace LoadBalancer.Tests.Unit.Http;

/// <summary>Valid heads shared by the prefix, suffix and mutation tests.</summary>
internal static class HttpHeadCorpus
{
    public static readonly string[] ValidRequests =
    [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\nUpgrade-Insecure-Requests: 1\r\n\r\n",
        "POST /api/v1/items HTTP/1.1\r\nHost: api.example.com:8443\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\t ,\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET http://example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nHost: [::1]:80\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        "PUT /x HTTP/1.1\r\nhost: a\r\ncontent-length: 5, 5\r\nX-Empty:\r\nX-Tab:\ta\tb\t\r\nX-Latin: caf\u00e9\r\n\r\n",
    ];

    public static readonly string[] ValidResponses =
    [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 204\r\n\r\n",
        "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 404 Not\tFound \u00e9\r\nContent-Length: 0\r\nSet-Cookie: a=b\r\n\r\n",
    ];

    public static readonly string[] ValidChunkedBodies =
    [
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "5;ext\r\nhello\r\n0\r\n\r\n",
        "5;a=b;c=\"q \\\" x\"\r\nhello\r\n0\r\n\r\n",
        "5 ;a = b\t;c\r\nhello\r\n0\r\n\r\n",
        "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
        "000005\r\nhello\r\n000\r\n\r\n",
        "3\r\n\r\n\r\r\n0\r\nX-Trailer: v\r\nY:\r\nZ:  a\tb \r\n\r\n",
        "0;x=1\r\n\r\n",
        "1\r\n\u00ff\r\n0\r\nChecksum: \u00e9\r\n\r\n",
    ];
}
