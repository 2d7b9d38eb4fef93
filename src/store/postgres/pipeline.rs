//! Statements a write transaction sends without waiting for each answer: the writes of one
//! transaction queue here and go to the server together with its `COMMIT`, in order, on one
//! connection, so a decision costs a round trip for its writes rather than one per row.
//!
//! tokio-postgres sends a request when its future is first polled and reads answers in the
//! order it sent them; polling every future once, in order, before awaiting any of them sends
//! the whole queue at once and keeps the order the transaction needs.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_postgres::types::ToSql;

use super::error::PgError;
use super::own::Cached;

/// A value bound to a queued statement, owned until the queue is sent.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// Owned statement parameters: `params![a, b]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as $crate::store::postgres::pipeline::Param),*]
    };
}
pub(super) use params;

struct Statement {
    sql: Cow<'static, str>,
    params: Vec<Param>,
}

/// Writes queued in a transaction, sent in one go.
#[derive(Default)]
pub struct Pipeline {
    statements: Vec<Statement>,
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

impl Pipeline {
    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, params: Vec<Param>) {
        self.statements.push(Statement {
            sql: sql.into(),
            params,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Sends the queue, then `then` (simple statements such as `COMMIT`), then `unheeded`
    /// (whose answers are read but do not count), all before reading any answer; returns the
    /// first failure in the order sent. After a failed statement the server refuses the rest
    /// of the transaction, and a `COMMIT` behind it rolls it back.
    pub async fn send(
        self,
        c: &impl Cached,
        then: &[&str],
        unheeded: &[&str],
    ) -> Result<(), PgError> {
        // Statements are prepared first (once per connection: the cache answers after that),
        // so that nothing below waits before every request has gone out.
        let mut prepared = Vec::with_capacity(self.statements.len());
        for s in &self.statements {
            prepared.push(c.prepared(&s.sql).await?);
        }
        let mut answers: Vec<Answer<'_>> = Vec::with_capacity(prepared.len() + then.len());
        for (s, statement) in self.statements.iter().zip(&prepared) {
            answers.push(Box::pin(async move {
                let params: Vec<&(dyn ToSql + Sync)> = s
                    .params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                c.execute(statement, &params).await
            }));
        }
        for sql in then.iter().chain(unheeded) {
            answers.push(Box::pin(
                async move { c.batch_execute(sql).await.map(|()| 0) },
            ));
        }
        let heeded = answers.len() - unheeded.len();
        let mut first_failure = None;
        for answer in in_order(answers).await.into_iter().take(heeded) {
            if let Err(e) = answer {
                first_failure.get_or_insert(e);
            }
        }
        match first_failure {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

/// Runs futures whose first poll sends a request: every one is polled once, in order, before
/// any is awaited; their outputs in the same order.
pub async fn in_order<'a, T>(
    mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
) -> Vec<T> {
    let mut done: Vec<Option<T>> = Vec::with_capacity(futures.len());
    {
        // A future polled here with a waker that does nothing registers the real one when it
        // is awaited below.
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        for future in &mut futures {
            done.push(match future.as_mut().poll(&mut cx) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => None,
            });
        }
    }
    let mut outputs = Vec::with_capacity(futures.len());
    for (future, output) in futures.into_iter().zip(done) {
        outputs.push(match output {
            Some(output) => output,
            None => future.await,
        });
    }
    outputs
}

/// [`in_order`] for reads sent together: every answer, or the first failure in the order sent.
pub async fn all_in_order<'a, T>(
    futures: Vec<futures::future::BoxFuture<'a, Result<T, PgError>>>,
) -> Result<Vec<T>, PgError> {
    in_order(futures).await.into_iter().collect()
}
