namespace LoadBalancer.Core.Http;

/// <summary>Constant <see cref="HttpMessageHead.ErrorReason"/> strings: logged and asserted on, never built from input.</summary>
internal static class HeadErrors
{
    public const string HeadTooLarge = "head too large";
    public const string RequestLineTooLong = "request line too long";
    public const string TooManyHeaders = "too many header fields";
    public const string BareLf = "bare LF line ending";
    public const string BareCr = "bare CR";
    public const string InvalidMethod = "invalid method";
    public const string InvalidTarget = "invalid request-target";
    public const string InvalidVersion = "malformed HTTP version";
    public const string UnsupportedVersion = "unsupported HTTP version";
    public const string InvalidStatusLine = "malformed status line";
    public const string ObsFold = "obsolete line folding";
    public const string InvalidFieldName = "invalid header field name";
    public const string WhitespaceBeforeColon = "whitespace between field name and colon";
    public const string InvalidFieldValue = "control character in header field value";
    public const string InvalidContentLength = "invalid Content-Length";
    public const string ConflictingContentLength = "conflicting Content-Length values";
    public const string InvalidTransferEncoding = "malformed Transfer-Encoding";
    public const string ChunkedNotFinal = "chunked is not the final transfer coding";
    public const string ChunkedTwice = "chunked applied more than once";
    public const string UnsupportedTransferCoding = "unsupported transfer coding";
    public const string ContentLengthWithTransferEncoding = "both Content-Length and Transfer-Encoding";
    public const string TransferEncodingInHttp10 = "Transfer-Encoding in an HTTP/1.0 message";
    public const string InvalidConnection = "malformed Connection";
    public const string MissingHost = "missing Host header field";
    public const string DuplicateHost = "more than one Host header field";
    public const string InvalidHost = "invalid Host header value";
    public const string UserInfo = "userinfo in authority";
    public const string InvalidAbsoluteForm = "invalid absolute-form target";
    public const string InvalidAuthorityForm = "invalid authority-form target";
    public const string AsteriskFormNotOptions = "asterisk-form target without OPTIONS";
}
