//! The search outbox as several API instances share it: disjoint claims, one worker per course.

use std::collections::HashSet;

use api::search::outbox;
use chrono::Duration;
use uuid::Uuid;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn concurrent_workers_claim_disjoint_batches() {
    // No worker in the app: the test plays the workers.
    let app = spawn_app_with(|s| s.search.worker = false).await;
    let db = app.db().await;
    // Courses that do not exist in the catalogue: the outbox only carries ids.
    let courses: Vec<Uuid> = (0..60).map(|_| Uuid::now_v7()).collect();
    outbox::enqueue(&db, courses.clone()).await.expect("enqueue");

    let lease = Duration::seconds(60);
    let (a, b) =
        tokio::join!(outbox::claim(&db, "worker-a", 40, lease), outbox::claim(&db, "worker-b", 40, lease));
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    let ids_a: HashSet<i64> = a.iter().map(|r| r.id).collect();
    let ids_b: HashSet<i64> = b.iter().map(|r| r.id).collect();
    assert!(ids_a.is_disjoint(&ids_b), "no row is claimed twice");
    assert_eq!(
        ids_a.len() + ids_b.len(),
        60,
        "together they took every row: {} + {}",
        ids_a.len(),
        ids_b.len()
    );
    assert!(
        outbox::claim(&db, "worker-c", 40, lease).await.expect("claim c").is_empty(),
        "nothing left while leased"
    );

    outbox::complete(&db, "worker-a", &ids_a.iter().copied().collect::<Vec<_>>()).await.expect("complete");
    let lag = outbox::lag(&db).await.expect("lag");
    assert_eq!(lag.pending, ids_b.len() as u64);
}

#[tokio::test]
async fn a_course_held_by_one_worker_waits_for_it() {
    // No worker in the app: the test plays the workers.
    let app = spawn_app_with(|s| s.search.worker = false).await;
    let db = app.db().await;
    let course = Uuid::now_v7();
    outbox::enqueue(&db, [course]).await.expect("first change");
    let lease = Duration::seconds(60);
    let first = outbox::claim(&db, "worker-a", 10, lease).await.expect("claim");
    assert_eq!(first.len(), 1);

    // A second change of the same course arrives while worker A indexes the first.
    outbox::enqueue(&db, [course]).await.expect("second change");
    assert!(
        outbox::claim(&db, "worker-b", 10, lease).await.expect("claim").is_empty(),
        "B must not index the course at the same time"
    );

    outbox::complete(&db, "worker-a", &[first[0].id]).await.expect("complete");
    let second = outbox::claim(&db, "worker-b", 10, lease).await.expect("claim");
    assert_eq!(second.len(), 1, "once A is done, B takes the newer change");

    // A failed batch comes back after its backoff, with the attempt counted.
    let backoff = outbox::retry_later(&db, "worker-b", &second, "engine down").await.expect("retry");
    assert!(backoff >= Duration::seconds(1));
    assert!(
        outbox::claim(&db, "worker-b", 10, lease).await.expect("claim").is_empty(),
        "not before the backoff"
    );
}
