//! The search change log as several indexes read it: in order, nothing claimed, pruned by age.

use api::search::outbox;
use sea_orm::TransactionTrait;
use uuid::Uuid;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn every_reader_sees_every_change_in_order() {
    // No worker in the app: the test reads the log.
    let app = spawn_app_with(|s| s.search.worker = false).await;
    let db = app.db().await;
    // Courses that do not exist in the catalogue: the log only carries ids.
    let courses: Vec<Uuid> = (0..60).map(|_| Uuid::now_v7()).collect();
    outbox::enqueue(&db, courses.clone()).await.expect("enqueue");
    let head = outbox::head(&db).await.expect("head");

    let first = outbox::after(&db, 0, 40).await.expect("first batch");
    let again = outbox::after(&db, 0, 40).await.expect("another index's first batch");
    assert_eq!(first, again, "reading takes nothing away");
    let rest = outbox::after(&db, first.last().expect("changes").seq, 40).await.expect("rest");
    let read: Vec<Uuid> = first.iter().chain(&rest).map(|c| c.course_id).collect();
    assert_eq!(read, courses, "every change, in the order written");
    assert_eq!(rest.last().expect("changes").seq, head);
    assert!(first.iter().chain(&rest).zip(1..).all(|(c, seq)| c.seq == seq), "numbers without gaps");

    let lag = outbox::lag(&db, first.last().expect("changes").seq).await.expect("lag");
    assert_eq!((lag.head, lag.pending), (head, 20));
}

#[tokio::test]
async fn pruning_keeps_the_newest_change_and_tells_who_must_refill() {
    let app = spawn_app_with(|s| s.search.worker = false).await;
    let db = app.db().await;
    outbox::enqueue(&db, (0..5).map(|_| Uuid::now_v7())).await.expect("enqueue");
    let head = outbox::head(&db).await.expect("head");
    assert!(outbox::can_replay_from(&db, 0).await.expect("replay"), "nothing pruned yet");

    let pruned = outbox::prune(&db, chrono::Duration::zero()).await.expect("prune");
    assert_eq!(pruned, 4, "all but the newest");
    assert_eq!(outbox::head(&db).await.expect("head"), head, "numbers never restart");
    assert!(!outbox::can_replay_from(&db, 0).await.expect("replay"), "an index at 0 must refill");
    assert!(outbox::can_replay_from(&db, head - 1).await.expect("replay"));

    outbox::enqueue(&db, [Uuid::now_v7()]).await.expect("enqueue");
    assert_eq!(outbox::head(&db).await.expect("head"), head + 1);
}

/// On PostgreSQL a transaction can take a number and commit after a later one: the reader waits at
/// the gap instead of passing the change over.
#[tokio::test]
async fn a_change_committing_late_is_not_passed_over() {
    let app = spawn_app_with(|s| s.search.worker = false).await;
    if !app.on_postgres() {
        eprintln!("skipped: SQLite has one writer at a time, so numbers commit in order");
        return;
    }
    let db = app.db().await;
    let (early, late) = (Uuid::now_v7(), Uuid::now_v7());
    let slow = db.begin().await.expect("begin");
    outbox::enqueue(&slow, [early]).await.expect("enqueue in the slow transaction");
    outbox::enqueue(&db, [late]).await.expect("enqueue and commit");
    assert!(outbox::after(&db, 0, 10).await.expect("read").is_empty(), "waits at the gap");
    slow.commit().await.expect("commit");
    let read: Vec<Uuid> =
        outbox::after(&db, 0, 10).await.expect("read").iter().map(|c| c.course_id).collect();
    assert_eq!(read, vec![early, late]);
}
