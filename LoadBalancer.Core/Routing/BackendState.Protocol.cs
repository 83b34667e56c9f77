namespace LoadBalancer.Core.Routing;

public sealed partial class BackendState
{
    private volatile bool _answersHttp10;

    /// <summary>
    /// True when this backend's last response had an HTTP/1.0 status line: such a backend never sends 100 Continue, so
    /// lb answers a client's <c>Expect: 100-continue</c> itself (RFC 9110 section 10.1.1). Updated from every response,
    /// so a backend that is upgraded in place is seen as HTTP/1.1 again after one answer.
    /// </summary>
    public bool AnswersHttp10 => _answersHttp10;

    /// <summary>Records the minor version of a response's status line (a plain volatile write: last writer wins).</summary>
    public void NoteResponseVersion(int minorVersion)
    {
        var isHttp10 = minorVersion == 0;
        if (_answersHttp10 != isHttp10)
        {
            _answersHttp10 = isHttp10;
        }
    }
}
