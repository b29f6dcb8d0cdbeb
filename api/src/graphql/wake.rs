//! Wakes this instance's background workers after a mutation, so that its changes reach the search
//! index and alert subscribers without waiting for the workers' next poll. Workers of other
//! instances find the changes at their poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Response, ServerResult, Variables};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct WakeWorkers {
    pub workers: Vec<Arc<Notify>>,
}

impl ExtensionFactory for WakeWorkers {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest { workers: self.workers.clone(), mutation: AtomicBool::new(false) })
    }
}

struct PerRequest {
    workers: Vec<Arc<Notify>>,
    mutation: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutation = document.operations.iter().any(|(_, op)| op.node.ty == OperationType::Mutation);
        self.mutation.store(mutation, Ordering::Relaxed);
        Ok(document)
    }

    /// After the operation: its transactions have committed.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        if self.mutation.load(Ordering::Relaxed) {
            for worker in &self.workers {
                worker.notify_one();
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptySubscription, Object, Schema};
    use futures_util::FutureExt;

    use super::*;
    use crate::graphql::limits::QueryShape;

    struct Query;
    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }
    }
    struct Mutation;
    #[Object]
    impl Mutation {
        async fn change(&self) -> i32 {
            1
        }
    }

    fn woken(notify: &Notify) -> bool {
        notify.notified().now_or_never().is_some()
    }

    #[tokio::test]
    async fn mutations_wake_the_workers_queries_do_not_also_when_the_document_was_kept_parsed() {
        let worker = Arc::new(Notify::new());
        let schema = Schema::build(Query, Mutation, EmptySubscription)
            .extension(WakeWorkers { workers: vec![worker.clone()] })
            .extension(QueryShape::new(&crate::config::Limits::default(), true))
            .finish();
        for _ in 0..2 {
            assert!(schema.execute("{ answer }").await.is_ok());
            assert!(!woken(&worker), "a query wakes no worker");
            assert!(schema.execute("mutation { change }").await.is_ok());
            assert!(woken(&worker), "a mutation wakes the workers");
        }
    }
}
