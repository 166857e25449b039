"""ncclient (Debian's python3-ncclient 0.6.13), with its <hello> always framed as
NETCONF 1.0 requires (RFC 6242 4.1).

Its session thread sends the queued client <hello> after it has parsed the server's, and
the thread that waits for that <hello> switches the session to 1.1 chunked framing as soon
as it wakes: under load the client <hello> left with chunked framing, the server read it
as the start of a 1.0 message and ended the session after its 20 s inactivity timeout
("Unexpected session close" in a test, CI101). Here the session thread sends the <hello>
before it reads anything. Import `manager` from this module, not from ncclient.
"""
from ncclient import manager  # noqa: F401 (re-exported)
from ncclient.transport import ssh

_run = ssh.SSHSession.run


def _run_hello_first(self):
    # SSHSession._post_connect queues the <hello> before it starts this thread
    data = self._q.get().encode() + ssh.MSG_DELIM
    try:
        while data:
            n = self._channel.send(data)
            if n <= 0:
                raise ssh.SessionCloseError("", data)
            data = data[n:]
    except Exception as e:  # as the session thread reports its errors
        self._dispatch_error(e)
        self.close()
        return
    _run(self)


ssh.SSHSession.run = _run_hello_first
