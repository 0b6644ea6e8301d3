//! Update packets read back from the packet store: any bytes, and a real sealed packet with bytes
//! changed where the input says. Anything but the packet as sealed is refused, never opened, never a
//! panic.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use resident_domain::StoreError;
use resident_domain::identity::IdentityJson;
use resident_domain::ids::Rid;
use resident_domain::ports::{MachineKeys, NewDocument, PacketCodec};
use resident_domain::update::{PacketAudit, UpdatePacket};
use resident_packet::{PacketCrypto, PacketKeys};
use time::OffsetDateTime;

#[derive(Default)]
struct Registry(Mutex<HashMap<String, Vec<u8>>>);

#[async_trait::async_trait]
impl MachineKeys for Registry {
    async fn machine_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.lock().expect("registry").get(key_id).cloned())
    }
    async fn register_machine_key(
        &self,
        key_id: &str,
        public: &[u8],
        _: &str,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.0.lock().expect("registry").insert(key_id.into(), public.to_vec());
        Ok(())
    }
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    crypto: PacketCrypto,
    rid: Rid,
    sealed: Vec<u8>,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let registry = Arc::new(Registry::default());
    let keys = PacketKeys::new([5u8; 32], [7u8; 32]);
    let crypto = PacketCrypto::new(keys, registry.clone());
    let key_id = crypto.keys().key_id();
    runtime
        .block_on(registry.register_machine_key(
            &key_id,
            &crypto.keys().public_key(),
            "fuzz",
            OffsetDateTime::UNIX_EPOCH,
        ))
        .expect("registered");
    let rid = Rid::parse("10001100800000120261126090000").expect("a RID");
    let identity = serde_json::json!({
        "UIN": "5075291708", "IDSchemaVersion": 0.1,
        "city": [{"language": "eng", "value": "Tangier"}],
        "proofOfAddress": {"value": "proofOfAddress", "type": "RNC", "format": "pdf"}
    });
    let packet = UpdatePacket {
        rid: rid.clone(),
        process: "RES_UPDATE".into(),
        created_at: OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("a time"),
        centre: "10001".into(),
        machine: "10080".into(),
        identity: IdentityJson(identity.as_object().expect("an object").clone()),
        documents: vec![NewDocument {
            category: "proofOfAddress".into(),
            format: "pdf".into(),
            content: b"%PDF-1.4 lease %%EOF".to_vec(),
        }],
        audits: vec![PacketAudit {
            event_id: "RES-SER-118".into(),
            description: "created".into(),
            at: "2026-11-26T09:00:00.000Z".into(),
        }],
    };
    let sealed = crypto.seal(&packet).expect("sealed");
    assert!(runtime.block_on(crypto.open(&rid, &sealed)).is_ok(), "the untouched packet opens");
    Setup { runtime, crypto, rid, sealed }
});

fuzz_target!(|data: &[u8]| {
    let s = &*SETUP;
    let _ = s.runtime.block_on(s.crypto.open(&s.rid, data));
    let mut changed = s.sealed.clone();
    for c in data.chunks_exact(4) {
        let at = u32::from_le_bytes([c[0], c[1], c[2], 0]) as usize % changed.len();
        changed[at] ^= c[3];
    }
    if changed != s.sealed {
        assert!(s.runtime.block_on(s.crypto.open(&s.rid, &changed)).is_err(), "a changed packet opened");
    }
});
