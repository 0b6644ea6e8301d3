//! Who used my data in the store: records commit with their audit record, are sealed at rest, are
//! found by identity, by accessor and by time, and only the resident's own are marked as seen.

use resident_domain::access::{AccessQuery, Accessor, AccessorKind, Channel, DataAccess, DataAccessLog, Purpose};
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::history::IdentityToken;
use resident_domain::ports::Effects;
use resident_testkit::{Db, t0};

use super::{fresh, raw};

fn access(token: &str, kind: AccessorKind, who: &str, minutes: i64, purpose: Purpose) -> DataAccess {
    DataAccess::new(
        IdentityToken(token.into()),
        Accessor { kind, id: who.into(), name: format!("{who} name") },
        vec!["fullName".into(), "proofOfIdentity".into()],
        purpose,
        Channel::Cli,
        t0() + time::Duration::minutes(minutes),
    )
}

pub async fn data_accesses_are_sealed_found_by_who_and_when_and_seen_by_their_owner(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let verify = |rid: &str| Purpose::ManualVerification { rid: rid.into() };
    let jane = [
        access("jane", AccessorKind::Operator, "amina", 0, verify("10001100010000120261126070000")),
        access(
            "jane",
            AccessorKind::Partner,
            "print-01",
            10,
            Purpose::Printing { rid: "R".into(), tracking_id: "PRN-1".into() },
        ),
        access("jane", AccessorKind::Operator, "sam", 20, verify("10001100010000220261126070000")),
    ];
    let other = access("omar", AccessorKind::Operator, "amina", 5, verify("10001100010000320261126070000"));
    let ctx = AuditContext::system("operator:amina");
    let record = AuditEvent::VerificationViewed.record(&ctx, t0(), None, "packet opened");
    let effects = Effects {
        audit: vec![record],
        accesses: jane.iter().cloned().chain([other.clone()]).collect(),
        ..Effects::default()
    };
    store.record_access(&effects, t0()).await.unwrap();

    // sealed: neither the attribute names nor the purpose are in the row in clear
    let pool = raw(&db).await;
    let details: Vec<Vec<u8>> = sqlx::query_scalar("SELECT detail FROM data_access").fetch_all(&pool).await.unwrap();
    assert_eq!(details.len(), 4);
    for d in &details {
        let text = String::from_utf8_lossy(d);
        assert!(!text.contains("fullName") && !text.contains("MANUAL") && !text.contains("amina name"), "{text}");
    }
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE event_id = 'RPR-MVS-001'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 1, "the audit record commits with the accesses");

    let q = |f: fn(&mut AccessQuery)| {
        let mut q = AccessQuery { limit: 100, ..AccessQuery::default() };
        f(&mut q);
        q
    };
    let mine = store.accesses(&q(|q| q.token = Some(IdentityToken("jane".into())))).await.unwrap();
    assert_eq!(mine.iter().map(|a| a.accessor.id.as_str()).collect::<Vec<_>>(), ["sam", "print-01", "amina"]);
    assert_eq!(mine[2], jane[0], "a record reads back as written");
    let partners = store
        .accesses(&q(|q| {
            q.token = Some(IdentityToken("jane".into()));
            q.kind = Some(AccessorKind::Partner);
        }))
        .await
        .unwrap();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].purpose.reference(), "PRN-1 (R)");
    let window = store
        .accesses(&q(|q| {
            q.token = Some(IdentityToken("jane".into()));
            q.since = Some(t0() + time::Duration::minutes(10));
            q.until = Some(t0() + time::Duration::minutes(20));
        }))
        .await
        .unwrap();
    assert_eq!(window.len(), 1, "since is inclusive, until exclusive");
    let by_amina = store
        .accesses(&q(|q| {
            q.kind = Some(AccessorKind::Operator);
            q.accessor_id = Some("amina".into());
        }))
        .await
        .unwrap();
    assert_eq!(by_amina.len(), 2, "an operator's reads across identities");
    let second_page = store
        .accesses(&AccessQuery {
            token: Some(IdentityToken("jane".into())),
            offset: 2,
            limit: 2,
            ..AccessQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(second_page.len(), 1);
    assert_eq!(store.access(&jane[1].id).await.unwrap().unwrap().accessor.id, "print-01");

    // seen: the owner's only
    assert_eq!(store.unread_accesses(&IdentityToken("jane".into())).await.unwrap(), 3);
    assert_eq!(store.mark_accesses_read(&IdentityToken("jane".into())).await.unwrap(), 3);
    assert_eq!(store.unread_accesses(&IdentityToken("jane".into())).await.unwrap(), 0);
    assert_eq!(store.unread_accesses(&IdentityToken("omar".into())).await.unwrap(), 1);

    // the notice preference: off until set, and set again in place
    let token = IdentityToken("jane".into());
    assert!(!store.tell_on_operator_read(&token).await.unwrap());
    let r = AuditEvent::AccessNoticeChanged.record(&ctx, t0(), None, "on");
    store.set_tell_on_operator_read(&token, true, &r, t0()).await.unwrap();
    assert!(store.tell_on_operator_read(&token).await.unwrap());
    store.set_tell_on_operator_read(&token, false, &r, t0()).await.unwrap();
    assert!(!store.tell_on_operator_read(&token).await.unwrap());
    assert!(!store.tell_on_operator_read(&IdentityToken("omar".into())).await.unwrap());
}
