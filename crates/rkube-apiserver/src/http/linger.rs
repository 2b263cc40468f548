//! A connection that, once the server is done with it, keeps reading for a
//! moment before it is closed.
//!
//! When the server answers before it has read the whole request (431 for
//! headers over the limit, an error on a body it will not read) and then
//! closes, the kernel answers the unread bytes with a TCP reset, and a
//! reset makes most clients drop the answer they have not read yet. So the
//! client sees "connection reset" instead of the status. Go's HTTP server,
//! and so kube-apiserver, avoids that by draining the socket briefly after
//! its last write; this wrapper does the same for hyper.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// How long, and how much, a closed connection is drained at most.
const DRAIN_TIME: Duration = Duration::from_millis(500);
const DRAIN_BYTES: u64 = 8 << 20;

pub struct Lingering<S: AsyncRead + Unpin + Send + 'static> {
    inner: Option<S>,
}

impl<S: AsyncRead + Unpin + Send + 'static> Lingering<S> {
    pub fn new(inner: S) -> Self {
        Lingering { inner: Some(inner) }
    }

    fn inner(&mut self) -> &mut S {
        self.inner.as_mut().expect("present until dropped")
    }
}

impl<S: AsyncRead + Unpin + Send + 'static> Drop for Lingering<S> {
    fn drop(&mut self) {
        let Some(mut stream) = self.inner.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let mut sink = tokio::io::sink();
            let mut limited = (&mut stream).take(DRAIN_BYTES);
            let _ =
                tokio::time::timeout(DRAIN_TIME, tokio::io::copy(&mut limited, &mut sink)).await;
        });
    }
}

impl<S: AsyncRead + Unpin + Send + 'static> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.inner()).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.inner()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.inner()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.inner()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.inner()).poll_shutdown(cx)
    }
}
