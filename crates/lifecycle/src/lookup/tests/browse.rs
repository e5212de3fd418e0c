//! What a browsing client reads ([`super::super::browse`]): the same statuses as a lookup,
//! and the image's facts from the cache the lookup filled.

use super::*;

#[tokio::test]
async fn revisions_and_image_facts_come_from_the_cached_lookup() {
    let f = fixture().await;
    let l = lookup(&f, LookupOptions::default());
    let at = t("2024-01-01");
    let revisions = l.revisions("reg.example/app", "1.0", at).await.unwrap();
    let names: Vec<&str> = revisions.iter().map(|r| r.revision.as_str()).collect();
    assert_eq!(names, ["20230707", "20230710"]);
    assert_eq!(revisions[0].tag, "1.0-20230707");
    assert_eq!(revisions[0].created, Some(t("2023-07-07T08:00:00Z")));
    let old = revisions[0].status.as_ref().unwrap();
    assert_eq!(old.state, State::EndOfLife);
    assert_eq!(old.reference, OLD);
    let new = revisions[1].status.as_ref().unwrap();
    assert_eq!(new.state, State::Scheduled);

    // The lookup's own statuses, and no request more for the facts behind them.
    let before = f.app.total();
    assert_eq!(*old, l.lookup(OLD, at).await.unwrap());
    let facts = l.image(OLD, at).await.unwrap();
    assert_eq!(facts.status, *old);
    assert_eq!(facts.created, Some(t("2023-07-07T08:00:00Z")));
    assert_eq!(facts.records.len(), 1);
    assert_eq!(
        facts.records[0].end_of_life,
        Some(t("2023-07-10T08:00:00Z"))
    );
    assert_eq!(facts.referrers.len(), 1);
    let listing = l
        .referrers_of("reg.example/app", &facts.status.digest)
        .await
        .unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(f.app.total(), before, "{:?}", f.app.calls);

    assert!(l.tags("not a repository").await.is_err());
    let tags = l.tags("reg.example/app").await.unwrap();
    assert_eq!(
        crate::lineages(&tags)["1.0"],
        ["1.0-20230707", "1.0-20230710"]
    );
}
