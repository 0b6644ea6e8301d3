//! In-memory platform services, so resident use cases can be tested without a database or a
//! network: an ID Authentication ([`FakeIda`]) and an ID Repository ([`FakeIdRepository`]) that keep
//! their state in memory and can be told to stop answering, and a resident-side store
//! ([`EffectsLog`]) that keeps what the use cases commit and holds nothing else: a use case that
//! reached past the service ports into IDA's or the registry's storage fails against it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use resident_domain::authtype::LockState;
use resident_domain::error::{ResidentError, StoreError};
use resident_domain::history::IdentityToken;
use resident_domain::ida::{AuthFailure, IdAuthentication, IdaCall, OtpSent};
use resident_domain::identity::IdentityJson;
use resident_domain::idrepo::IdRepository;
use resident_domain::ids::{IndividualId, Uin, Vid};
use resident_domain::otp::{OtpChannel, OtpPolicy, OtpRefusal};
use resident_domain::ports::{AuthTransaction, Effects, EffectsStore, NewDocument, Partner, PartnerRecords, Resolved};
use resident_domain::vid::VidRecord;
use time::OffsetDateTime;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A resident for the fakes: UIN, name, email and phone.
pub fn resident(uin: &str, name: &str, email: &str, phone: &str) -> Resolved {
    let uin = Uin::parse(uin).unwrap_or_else(|e| unreachable!("a test UIN: {e:?}"));
    let identity = serde_json::json!({
        "fullName": [{"language": "eng", "value": name}],
        "dateOfBirth": "1990/01/01",
        "email": email,
        "phone": phone,
    });
    let identity = match identity {
        serde_json::Value::Object(m) => IdentityJson(m),
        _ => unreachable!(),
    };
    Resolved {
        identity_id: format!("identity-{}", uin.expose()),
        token: IdentityToken(format!("token-{}", uin.expose())),
        uin,
        status: "ACTIVATED".into(),
        identity,
        vid: None,
    }
}

/// An ID Authentication in memory: it knows some residents, sends (records) one OTP per transaction,
/// checks it once, and records every attempt.
#[derive(Default)]
pub struct FakeIda {
    residents: Vec<Resolved>,
    otps: Mutex<BTreeMap<(String, String), String>>,
    transactions: Mutex<Vec<AuthTransaction>>,
    down: Mutex<bool>,
    next: Mutex<u32>,
}

impl FakeIda {
    pub fn knowing(residents: Vec<Resolved>) -> Self {
        FakeIda { residents, ..FakeIda::default() }
    }

    /// From now on, no answer (as a neighbour that is down).
    pub fn go_down(&self) {
        *lock(&self.down) = true;
    }

    /// The OTP last sent for this id and transaction.
    pub fn sent_otp(&self, id: &str, transaction_id: &str) -> Option<String> {
        lock(&self.otps).get(&(id.to_owned(), transaction_id.to_owned())).cloned()
    }

    pub fn transactions(&self) -> Vec<AuthTransaction> {
        lock(&self.transactions).clone()
    }

    fn answering(&self) -> Result<(), ResidentError> {
        if *lock(&self.down) { Err(ResidentError::Unavailable("fake IDA is down".into())) } else { Ok(()) }
    }

    fn find(&self, id: &IndividualId) -> Option<&Resolved> {
        self.residents.iter().find(|r| match id {
            IndividualId::Uin(u) => r.uin == *u,
            IndividualId::Vid(v) => r.vid.as_ref().is_some_and(|x| x.vid == *v),
        })
    }

    fn record(&self, who: &Resolved, id: &IndividualId, trn: &str, code: &str, ok: bool, now: OffsetDateTime) {
        lock(&self.transactions).push(AuthTransaction {
            token: who.token.clone(),
            at: now,
            auth_type_code: code.into(),
            status_code: if ok { "Y".into() } else { "N".into() },
            status_comment: String::new(),
            ref_id_type: id.id_type().into(),
            entity_name: "resident-services".into(),
            transaction_id: trn.into(),
            response_code: if ok { "Y".into() } else { "IDA-OTA-004".into() },
        });
    }
}

#[async_trait]
impl IdAuthentication for FakeIda {
    async fn request_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        channels: &[OtpChannel],
    ) -> Result<OtpSent, ResidentError> {
        self.answering()?;
        let who = self
            .find(id)
            .ok_or_else(|| ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", id.id_type())))?;
        let mut next = lock(&self.next);
        *next += 1;
        let otp = format!("{:06}", 100_000 + *next);
        lock(&self.otps).insert((id.expose().to_owned(), transaction_id.to_owned()), otp);
        self.record(who, id, transaction_id, "OTP-REQUEST", true, call.now);
        Ok(OtpSent {
            masked_email: channels.contains(&OtpChannel::Email).then(|| "XXXX@example.org".to_owned()),
            masked_mobile: channels.contains(&OtpChannel::Phone).then(|| "XXXXXX3210".to_owned()),
        })
    }

    async fn authenticate_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
    ) -> Result<Result<(), AuthFailure>, ResidentError> {
        self.answering()?;
        let who = self
            .find(id)
            .ok_or_else(|| ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", id.id_type())))?;
        let key = (id.expose().to_owned(), transaction_id.to_owned());
        let right = lock(&self.otps).get(&key).is_some_and(|o| o == otp);
        self.record(who, id, transaction_id, "OTP-AUTH", right, call.now);
        if right {
            lock(&self.otps).remove(&key);
            Ok(Ok(()))
        } else {
            let policy = OtpPolicy::default();
            Ok(Err(AuthFailure { code: "IDA-OTA-004".into(), message: OtpRefusal::Invalid.message(&policy) }))
        }
    }

    async fn auth_transactions(
        &self,
        _call: &IdaCall<'_>,
        who: &Resolved,
        _id: &IndividualId,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, ResidentError> {
        self.answering()?;
        let mine: Vec<AuthTransaction> =
            lock(&self.transactions).iter().rev().filter(|t| t.token == who.token).cloned().collect();
        let skip = (page_start.saturating_sub(1) * page_fetch) as usize;
        Ok(mine.into_iter().skip(skip).take(page_fetch as usize).collect())
    }
}

/// An ID Repository in memory: residents, their VIDs (at most `max_vids` each) and locks.
pub struct FakeIdRepository {
    residents: Vec<Resolved>,
    max_vids: usize,
    vids: Mutex<Vec<(String, VidRecord)>>,
    locks: Mutex<BTreeMap<String, Vec<LockState>>>,
    down: Mutex<bool>,
}

impl FakeIdRepository {
    pub fn knowing(residents: Vec<Resolved>, max_vids: usize) -> Self {
        FakeIdRepository {
            residents,
            max_vids,
            vids: Mutex::new(Vec::new()),
            locks: Mutex::new(BTreeMap::new()),
            down: Mutex::new(false),
        }
    }

    pub fn go_down(&self) {
        *lock(&self.down) = true;
    }

    /// Every VID made, with its owner's identity id.
    pub fn all_vids(&self) -> Vec<(String, VidRecord)> {
        lock(&self.vids).clone()
    }

    pub fn locks_of(&self, who: &Resolved) -> Vec<LockState> {
        lock(&self.locks).get(&who.identity_id).cloned().unwrap_or_default()
    }

    fn answering(&self) -> Result<(), ResidentError> {
        if *lock(&self.down) { Err(ResidentError::Unavailable("fake ID repository is down".into())) } else { Ok(()) }
    }
}

#[async_trait]
impl IdRepository for FakeIdRepository {
    async fn identity(&self, id: &IndividualId, _now: OffsetDateTime) -> Result<Option<Resolved>, ResidentError> {
        self.answering()?;
        Ok(match id {
            IndividualId::Uin(u) => self.residents.iter().find(|r| r.uin == *u).cloned(),
            IndividualId::Vid(v) => {
                let owner = lock(&self.vids)
                    .iter()
                    .find(|(_, r)| r.vid == *v && r.status == "ACTIVE")
                    .map(|(o, r)| (o.clone(), r.clone()));
                owner.and_then(|(o, r)| {
                    self.residents.iter().find(|x| x.identity_id == o).cloned().map(|mut x| {
                        x.vid = Some(r);
                        x
                    })
                })
            }
        })
    }

    async fn documents(&self, _who: &Resolved) -> Result<Vec<NewDocument>, ResidentError> {
        self.answering()?;
        Ok(Vec::new())
    }

    async fn vids(&self, who: &Resolved, _now: OffsetDateTime) -> Result<Vec<VidRecord>, ResidentError> {
        self.answering()?;
        Ok(lock(&self.vids)
            .iter()
            .rev()
            .filter(|(o, r)| *o == who.identity_id && r.status == "ACTIVE")
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn create_vid(&self, who: &Resolved, vid_type: &str, now: OffsetDateTime) -> Result<Vid, ResidentError> {
        self.answering()?;
        let mut vids = lock(&self.vids);
        let held = vids.iter().filter(|(o, r)| *o == who.identity_id && r.status == "ACTIVE").count();
        if held >= self.max_vids {
            return Err(ResidentError::VidAlreadyPresent);
        }
        let vid = Vid::generate(&mut resident_domain::clock::rng());
        vids.push((
            who.identity_id.clone(),
            VidRecord {
                vid: vid.clone(),
                vid_type: vid_type.into(),
                status: "ACTIVE".into(),
                created_at: now,
                expires_at: None,
                transactions_left: None,
            },
        ));
        Ok(vid)
    }

    async fn revoke_vid(&self, who: &Resolved, vid: &Vid, _now: OffsetDateTime) -> Result<(), ResidentError> {
        self.answering()?;
        let mut vids = lock(&self.vids);
        match vids.iter_mut().find(|(o, r)| *o == who.identity_id && r.vid == *vid && r.status == "ACTIVE") {
            Some((_, r)) => {
                r.status = "REVOKED".into();
                Ok(())
            }
            None => Err(ResidentError::ApiResourceAccess),
        }
    }

    async fn auth_type_status(&self, who: &Resolved) -> Result<Vec<LockState>, ResidentError> {
        self.answering()?;
        Ok(self.locks_of(who))
    }

    async fn update_auth_type_status(
        &self,
        who: &Resolved,
        states: &[LockState],
        _now: OffsetDateTime,
    ) -> Result<(), ResidentError> {
        self.answering()?;
        let mut locks = lock(&self.locks);
        let mine = locks.entry(who.identity_id.clone()).or_default();
        for s in states {
            mine.retain(|x| x.auth_type != s.auth_type);
            mine.push(*s);
        }
        Ok(())
    }
}

/// The resident tier's own store, as a use case sees it (`EffectsStore`): it keeps the effects
/// committed (audit records, history events, notifications) and nothing else, so a use case cannot
/// reach IDA's or the registry's records through it (that would not compile).
#[derive(Default)]
pub struct EffectsLog {
    committed: Mutex<Vec<Effects>>,
}

impl EffectsLog {
    pub fn committed(&self) -> Vec<Effects> {
        lock(&self.committed).clone()
    }

    /// The audit event ids committed, in order.
    pub fn audit_ids(&self) -> Vec<String> {
        self.committed().iter().flat_map(|e| e.audit.iter().map(|a| a.event_id.clone())).collect()
    }

    /// The history events' status codes committed, in order.
    pub fn event_statuses(&self) -> Vec<String> {
        self.committed().iter().filter_map(|e| e.event.as_ref().map(|ev| ev.status_code.clone())).collect()
    }

    /// The notification templates committed, in order.
    pub fn notified(&self) -> Vec<String> {
        self.committed().iter().flat_map(|e| e.notifications.iter().map(|n| n.template.clone())).collect()
    }
}

#[async_trait]
impl EffectsStore for EffectsLog {
    async fn record_effects(&self, effects: &Effects, _now: OffsetDateTime) -> Result<(), StoreError> {
        lock(&self.committed).push(effects.clone());
        Ok(())
    }
}

/// Partner management in memory: the partners registered and their demographic policies.
#[derive(Default)]
pub struct FakePartners {
    partners: Mutex<Vec<Partner>>,
    policies: Mutex<BTreeMap<String, Vec<String>>>,
}

#[async_trait]
impl PartnerRecords for FakePartners {
    async fn partner(&self, partner_id: &str) -> Result<Option<Partner>, StoreError> {
        Ok(lock(&self.partners).iter().find(|p| p.id == partner_id).cloned())
    }
    async fn add_partner(&self, partner: &Partner, _effects: &Effects, _now: OffsetDateTime) -> Result<(), StoreError> {
        let mut all = lock(&self.partners);
        if all.iter().any(|p| p.id == partner.id) {
            return Err(StoreError::Conflict(format!("partner {} exists", partner.id)));
        }
        all.push(partner.clone());
        Ok(())
    }
    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        Ok(lock(&self.partners).clone())
    }
    async fn demo_policy(&self, partner_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        Ok(lock(&self.policies).get(partner_id).cloned())
    }
    async fn set_demo_policy(
        &self,
        partner_id: &str,
        attributes: &[String],
        _effects: &Effects,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        lock(&self.policies).insert(partner_id.to_owned(), attributes.to_vec());
        Ok(())
    }
}

/// A key manager in memory: it keeps what it was asked to sign and answers with a token of that
/// payload under a test header (`alg: test`), which no verifier accepts.
#[derive(Default)]
pub struct FakeKeys {
    signed: Mutex<Vec<serde_json::Value>>,
}

impl FakeKeys {
    pub fn signed(&self) -> Vec<serde_json::Value> {
        lock(&self.signed).clone()
    }
}

#[async_trait]
impl resident_domain::keymanager::KeyManager for FakeKeys {
    async fn jwt_sign(&self, claims: &serde_json::Value) -> Result<String, ResidentError> {
        let mut signed = lock(&self.signed);
        signed.push(claims.clone());
        Ok(format!("{{\"alg\":\"test\",\"kid\":\"fake\"}}.{claims}.{}", signed.len()))
    }
    async fn published_keys(&self) -> Result<serde_json::Value, ResidentError> {
        Ok(serde_json::json!({"keys": []}))
    }
}
