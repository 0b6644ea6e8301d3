//! The embedded ID Repository: identities encrypted at rest, found by the keyed hash of their UIN.
//! UINs are allocated from `uin_registry`, whose primary key makes a UIN impossible to hand out twice,
//! whichever process or replica asks.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::clock::epoch_ms;
use resident_domain::history::IdentityToken;
use resident_domain::identity::IdentityJson;
use resident_domain::ids::Uin;
use resident_domain::ports::{
    AuditLog, CreateOutcome, CreatedIdentity, IdentityRegistry, NewDocument, NewIdentity, StoredIdentity,
};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::{Store, audit, db_err};

pub(crate) const MAX_ALLOCATION_TRIES: usize = 32;

/// An identity row, decrypted.
pub(crate) struct IdentityRow {
    pub id: String,
    pub uin: Uin,
    pub token: IdentityToken,
    pub status: String,
    pub version: i64,
    pub identity: resident_domain::identity::IdentityJson,
}

impl Store {
    pub(crate) fn source_key(&self, new: &NewIdentity) -> String {
        match &new.registration_id {
            Some(rid) => self.vault().lookup_hash("registration", rid),
            None => self.vault().lookup_hash("identity", &String::from_utf8_lossy(&new.identity.canonical_bytes())),
        }
    }

    pub(crate) fn open_identity(&self, id: &str, data: &[u8]) -> Result<IdentityJson, StoreError> {
        let plain = self.vault().open(id.as_bytes(), data)?;
        let doc: Value = serde_json::from_slice(&plain).map_err(|e| StoreError::Integrity(e.to_string()))?;
        match doc.get("identity") {
            Some(Value::Object(m)) => Ok(IdentityJson(m.clone())),
            _ => Err(StoreError::Integrity("identity record has no identity object".into())),
        }
    }

    async fn uin_for_source(&self, source_key: &str) -> Result<Option<Uin>, StoreError> {
        let row = sqlx::query("SELECT id, data FROM identity WHERE source_key = $1")
            .bind(source_key)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id").map_err(db_err)?;
        let data: Vec<u8> = row.try_get("data").map_err(db_err)?;
        let identity = self.open_identity(&id, &data)?;
        let uin = identity.uin().and_then(|u| Uin::parse(u).ok());
        uin.map(Some).ok_or_else(|| StoreError::Integrity("stored identity has no valid UIN".into()))
    }

    /// Claims a UIN in the registry; false when it was already handed out.
    async fn claim_uin(&self, conn: &mut AnyConnection, uin: &Uin, now: OffsetDateTime) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "INSERT INTO uin_registry (uin_hash, status, allocated_at) VALUES ($1, 'ASSIGNED', $2) \
             ON CONFLICT (uin_hash) DO NOTHING RETURNING uin_hash",
        )
        .bind(self.vault().lookup_hash("uin", uin.expose()))
        .bind(epoch_ms(now))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    /// Hands out a fresh UIN that no identity has ever had, without creating an identity (the kernel's
    /// `GET /v1/idgenerator/uin`).
    pub async fn allocate_uin(&self, now: OffsetDateTime) -> Result<Uin, StoreError> {
        let mut conn = self.writer().acquire().await.map_err(db_err)?;
        for _ in 0..MAX_ALLOCATION_TRIES {
            let candidate = Uin::generate(&mut resident_domain::clock::rng());
            if self.claim_uin(&mut conn, &candidate, now).await? {
                return Ok(candidate);
            }
        }
        Err(StoreError::Unavailable("could not allocate a free UIN".into()))
    }

    /// The identity row found by internal id (`by_id`) or by UIN lookup hash, decrypted.
    pub(crate) async fn identity_row(&self, by_id: bool, key: &str) -> Result<Option<IdentityRow>, StoreError> {
        let sql = if by_id {
            "SELECT id, token, status, version, data FROM identity WHERE id = $1"
        } else {
            "SELECT id, token, status, version, data FROM identity WHERE uin_hash = $1"
        };
        let Some(row) = sqlx::query(sql).bind(key).fetch_optional(self.reader()).await.map_err(db_err)? else {
            return Ok(None);
        };
        let id: String = row.try_get("id").map_err(db_err)?;
        let data: Vec<u8> = row.try_get("data").map_err(db_err)?;
        let identity = self.open_identity(&id, &data)?;
        let uin = identity
            .uin()
            .and_then(|u| Uin::parse(u).ok())
            .ok_or_else(|| StoreError::Integrity("stored identity has no valid UIN".into()))?;
        Ok(Some(IdentityRow {
            token: IdentityToken(row.try_get("token").map_err(db_err)?),
            status: row.try_get("status").map_err(db_err)?,
            version: row.try_get("version").map_err(db_err)?,
            id,
            uin,
            identity,
        }))
    }

    /// The identity with its documents.
    async fn stored_identity(&self, by_id: bool, key: &str) -> Result<Option<StoredIdentity>, StoreError> {
        let Some(row) = self.identity_row(by_id, key).await? else { return Ok(None) };
        let docs = sqlx::query(
            "SELECT category, format, content FROM identity_document WHERE identity_id = $1 ORDER BY category",
        )
        .bind(&row.id)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        let mut documents = Vec::with_capacity(docs.len());
        for d in docs {
            let category: String = d.try_get("category").map_err(db_err)?;
            let content: Vec<u8> = d.try_get("content").map_err(db_err)?;
            let aad = format!("{}/{category}", row.id);
            documents.push(NewDocument {
                format: d.try_get("format").map_err(db_err)?,
                content: self.vault().open(aad.as_bytes(), &content)?.to_vec(),
                category,
            });
        }
        Ok(Some(StoredIdentity {
            uin: row.uin,
            token: row.token,
            status: row.status,
            version: row.version,
            identity: row.identity,
            documents,
        }))
    }

    pub async fn count_identities(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM identity").fetch_one(self.reader()).await.map_err(db_err)
    }
}

#[async_trait]
impl IdentityRegistry for Store {
    async fn create_identity(
        &self,
        new: NewIdentity,
        ctx: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<CreatedIdentity, StoreError> {
        let source_key = self.source_key(&new);
        let already = |uin: Uin| CreatedIdentity { uin, outcome: CreateOutcome::AlreadyPresent };
        if let Some(uin) = self.uin_for_source(&source_key).await? {
            self.append(AuditEvent::IdentityAlreadyPresent.record(
                ctx,
                now,
                Some((uin.masked(), "UIN")),
                "identity already present",
            ))
            .await?;
            return Ok(already(uin));
        }
        let given = match new.identity.uin() {
            Some(u) => Some(Uin::parse(u).map_err(|_| StoreError::Conflict("invalid UIN".into()))?),
            None => None,
        };

        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let uin = match given {
            Some(uin) => {
                if !self.claim_uin(&mut tx, &uin, now).await? {
                    return Err(StoreError::Conflict("UIN already exists".into()));
                }
                uin
            }
            None => {
                let mut allocated = None;
                for _ in 0..MAX_ALLOCATION_TRIES {
                    let candidate = Uin::generate(&mut resident_domain::clock::rng());
                    if self.claim_uin(&mut tx, &candidate, now).await? {
                        allocated = Some(candidate);
                        break;
                    }
                }
                allocated.ok_or_else(|| StoreError::Unavailable("could not allocate a free UIN".into()))?
            }
        };
        let identity = new.identity.with_uin(&uin);
        let id = uuid::Uuid::now_v7().to_string();
        let plain = serde_json::to_vec(&identity.to_document()).map_err(|e| StoreError::Integrity(e.to_string()))?;
        let data = self.vault().seal(id.as_bytes(), &plain)?;
        let inserted = sqlx::query(
            "INSERT INTO identity (id, uin_hash, token, source_key, status, version, data, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'ACTIVATED', 1, $5, $6, $6)",
        )
        .bind(&id)
        .bind(self.vault().lookup_hash("uin", uin.expose()))
        .bind(self.vault().identity_token(uin.expose()).0)
        .bind(&source_key)
        .bind(data)
        .bind(epoch_ms(now))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) => {
                let err = db_err(e);
                drop(tx);
                // a concurrent import of the same identity won the race
                if matches!(err, StoreError::Conflict(_))
                    && let Some(uin) = self.uin_for_source(&source_key).await?
                {
                    return Ok(already(uin));
                }
                return Err(err);
            }
        }
        for doc in &new.documents {
            let aad = format!("{id}/{}", doc.category);
            sqlx::query(
                "INSERT INTO identity_document (identity_id, category, format, content, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(&doc.category)
            .bind(&doc.format)
            .bind(self.vault().seal(aad.as_bytes(), &doc.content)?)
            .bind(epoch_ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let record = AuditEvent::IdentityCreated.record(
            ctx,
            now,
            Some((uin.masked(), "UIN")),
            format!("identity created with {} document(s)", new.documents.len()),
        );
        audit::append_in(&mut tx, self.vault(), &[record]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CreatedIdentity { uin, outcome: CreateOutcome::Created })
    }

    async fn create_identities(
        &self,
        batch: Vec<NewIdentity>,
        ctx: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<CreatedIdentity, StoreError>>, StoreError> {
        self.create_identity_batch(batch, ctx, now).await
    }

    async fn find_identity(&self, uin: &Uin) -> Result<Option<StoredIdentity>, StoreError> {
        self.stored_identity(false, &self.vault().lookup_hash("uin", uin.expose())).await
    }

    async fn identity_by_id(&self, identity_id: &str) -> Result<Option<StoredIdentity>, StoreError> {
        self.stored_identity(true, identity_id).await
    }

    fn token_for(&self, uin: &Uin) -> IdentityToken {
        self.vault().identity_token(uin.expose())
    }

    async fn uin_for_registration(&self, rid: &resident_domain::ids::Rid) -> Result<Option<Uin>, StoreError> {
        self.uin_for_source(&self.vault().lookup_hash("registration", rid.as_str())).await
    }
}
