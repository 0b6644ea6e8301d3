//! Identities created in batches (`resident import`): the same outcome per identity as creating them
//! one by one (already present by registration id or content, a given UIN claimed or refused, a fresh
//! UIN otherwise, sealed data, one audit record each), in one transaction and a handful of multi-row
//! statements per batch instead of a transaction of six statements per identity.

use std::collections::{HashMap, HashSet};

use resident_domain::StoreError;
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::clock::epoch_ms;
use resident_domain::ids::Uin;
use resident_domain::ports::{CreateOutcome, CreatedIdentity, NewIdentity};
use sqlx::Row;
use time::OffsetDateTime;

use crate::identities::MAX_ALLOCATION_TRIES;
use crate::{Store, audit, db_err, values_sql};

/// Rows per multi-row statement (PostgreSQL takes at most 65,535 parameters, SQLite 32,766).
const ROWS: usize = 500;

/// `IN (…)` placeholders for `n` values.
fn in_list(n: usize, anonymous: bool) -> String {
    (1..=n).map(|i| if anonymous { "?".to_owned() } else { format!("${i}") }).collect::<Vec<_>>().join(", ")
}

/// What one identity of the batch comes to.
enum Plan {
    Done(Result<CreatedIdentity, StoreError>),
    /// The same source as an earlier line of this batch.
    SameAs(usize),
    Create {
        uin_hash: String,
        uin: Uin,
    },
    /// Waiting for a UIN.
    Pending,
}

impl Store {
    /// The UIN of each stored identity whose source key is among `keys`.
    async fn uins_for_sources(&self, keys: &[String]) -> Result<HashMap<String, Uin>, StoreError> {
        let anonymous = self.is_sqlite();
        let mut out = HashMap::new();
        for chunk in keys.chunks(ROWS) {
            let sql = format!(
                "SELECT id, data, source_key FROM identity WHERE source_key IN ({})",
                in_list(chunk.len(), anonymous)
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(k);
            }
            for row in q.fetch_all(self.writer()).await.map_err(db_err)? {
                let id: String = row.try_get("id").map_err(db_err)?;
                let data: Vec<u8> = row.try_get("data").map_err(db_err)?;
                let key: String = row.try_get("source_key").map_err(db_err)?;
                let uin = self
                    .open_identity(&id, &data)?
                    .uin()
                    .and_then(|u| Uin::parse(u).ok())
                    .ok_or_else(|| StoreError::Integrity("stored identity has no valid UIN".into()))?;
                out.insert(key, uin);
            }
        }
        Ok(out)
    }

    fn is_sqlite(&self) -> bool {
        matches!(self.backend(), crate::Backend::Sqlite)
    }

    pub(crate) async fn create_identity_batch(
        &self,
        batch: Vec<NewIdentity>,
        ctx: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<CreatedIdentity, StoreError>>, StoreError> {
        let anonymous = self.is_sqlite();
        let keys: Vec<String> = batch.iter().map(|n| self.source_key(n)).collect();
        let existing = self.uins_for_sources(&keys).await?;
        let already = |uin: &Uin| CreatedIdentity { uin: uin.clone(), outcome: CreateOutcome::AlreadyPresent };
        let mut plans: Vec<Plan> = Vec::with_capacity(batch.len());
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut given: Vec<(usize, Uin)> = Vec::new();
        for (i, (new, key)) in batch.iter().zip(&keys).enumerate() {
            if let Some(uin) = existing.get(key) {
                plans.push(Plan::Done(Ok(already(uin))));
            } else if let Some(&j) = first_of.get(key.as_str()) {
                plans.push(Plan::SameAs(j));
            } else {
                first_of.insert(key, i);
                match new.identity.uin() {
                    Some(u) => match Uin::parse(u) {
                        Ok(uin) => {
                            given.push((i, uin));
                            plans.push(Plan::Pending);
                        }
                        Err(_) => plans.push(Plan::Done(Err(StoreError::Conflict("invalid UIN".into())))),
                    },
                    None => plans.push(Plan::Pending),
                }
            }
        }

        let mut tx = self.writer().begin().await.map_err(db_err)?;
        // UINs: the given ones are claimed or refused; the others drawn until free
        // a candidate's hash once per statement: of two lines that drew (or were given) the same UIN,
        // only the first may claim it; a drawn one tries again, a given one is refused
        let claim = |candidates: Vec<(usize, Uin)>, plans: &mut Vec<Plan>, given: bool| {
            let mut seen: HashSet<String> = HashSet::new();
            let mut out: Vec<(usize, Uin, String)> = Vec::with_capacity(candidates.len());
            for (i, u) in candidates {
                let h = self.vault().lookup_hash("uin", u.expose());
                if seen.insert(h.clone()) {
                    out.push((i, u, h));
                } else if given {
                    plans[i] = Plan::Done(Err(StoreError::Conflict("UIN already exists".into())));
                }
            }
            out
        };
        // the first round claims the given UINs (one taken already is refused, not redrawn); each later
        // round draws for the lines still pending
        let mut to_claim = claim(given, &mut plans, true);
        for attempt in 0..=MAX_ALLOCATION_TRIES {
            if attempt > 0 {
                let pending: Vec<(usize, Uin)> = plans
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| matches!(p, Plan::Pending))
                    .map(|(i, _)| (i, Uin::generate(&mut resident_domain::clock::rng())))
                    .collect();
                if pending.is_empty() {
                    break;
                }
                if attempt == MAX_ALLOCATION_TRIES {
                    for (i, _) in pending {
                        plans[i] = Plan::Done(Err(StoreError::Unavailable("could not allocate a free UIN".into())));
                    }
                    break;
                }
                to_claim = claim(pending, &mut plans, false);
            }
            let mut claimed: HashSet<String> = HashSet::new();
            for chunk in to_claim.chunks(ROWS) {
                let sql = values_sql(
                    "INSERT INTO uin_registry (uin_hash, status, allocated_at)",
                    chunk.len(),
                    3,
                    anonymous,
                    "ON CONFLICT (uin_hash) DO NOTHING RETURNING uin_hash",
                );
                let mut q = sqlx::query(&sql);
                for (_, _, h) in chunk {
                    q = q.bind(h).bind("ASSIGNED").bind(epoch_ms(now));
                }
                for row in q.fetch_all(&mut *tx).await.map_err(db_err)? {
                    claimed.insert(row.try_get("uin_hash").map_err(db_err)?);
                }
            }
            let is_given = attempt == 0;
            for (i, uin, h) in std::mem::take(&mut to_claim) {
                if claimed.contains(&h) {
                    plans[i] = Plan::Create { uin_hash: h, uin };
                } else if is_given {
                    plans[i] = Plan::Done(Err(StoreError::Conflict("UIN already exists".into())));
                }
            }
        }

        // the identities, sealed; one whose source another importer stored meanwhile is left out
        let mut rows: Vec<(usize, String, String, Uin, Vec<u8>)> = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            if let Plan::Create { uin_hash, uin } = plan {
                let identity = batch[i].identity.clone().with_uin(uin);
                let id = uuid::Uuid::now_v7().to_string();
                let plain =
                    serde_json::to_vec(&identity.to_document()).map_err(|e| StoreError::Integrity(e.to_string()))?;
                let data = self.vault().seal(id.as_bytes(), &plain)?;
                rows.push((i, id, uin_hash.clone(), uin.clone(), data));
            }
        }
        let mut stored: HashSet<String> = HashSet::new();
        for chunk in rows.chunks(ROWS) {
            let sql = values_sql(
                "INSERT INTO identity (id, uin_hash, token, source_key, status, version, data, created_at, updated_at)",
                chunk.len(),
                9,
                anonymous,
                "ON CONFLICT (source_key) DO NOTHING RETURNING id",
            );
            let mut q = sqlx::query(&sql);
            for (i, id, uin_hash, uin, data) in chunk {
                q = q
                    .bind(id)
                    .bind(uin_hash)
                    .bind(self.vault().identity_token(uin.expose()).0)
                    .bind(&keys[*i])
                    .bind("ACTIVATED")
                    .bind(1_i64)
                    .bind(data)
                    .bind(epoch_ms(now))
                    .bind(epoch_ms(now));
            }
            for row in q.fetch_all(&mut *tx).await.map_err(db_err)? {
                stored.insert(row.try_get("id").map_err(db_err)?);
            }
        }
        let mut documents: Vec<(String, &resident_domain::ports::NewDocument)> = Vec::new();
        let mut raced: Vec<usize> = Vec::new();
        for (i, id, _, uin, _) in &rows {
            if stored.contains(id) {
                documents.extend(batch[*i].documents.iter().map(|d| (id.clone(), d)));
                plans[*i] = Plan::Done(Ok(CreatedIdentity { uin: uin.clone(), outcome: CreateOutcome::Created }));
            } else {
                raced.push(*i);
            }
        }
        for chunk in documents.chunks(ROWS) {
            let sql = values_sql(
                "INSERT INTO identity_document (identity_id, category, format, content, created_at)",
                chunk.len(),
                5,
                anonymous,
                "",
            );
            let mut q = sqlx::query(&sql);
            for (id, doc) in chunk {
                let aad = format!("{id}/{}", doc.category);
                q = q
                    .bind(id)
                    .bind(&doc.category)
                    .bind(&doc.format)
                    .bind(self.vault().seal(aad.as_bytes(), &doc.content)?)
                    .bind(epoch_ms(now));
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }

        // the audit records, in the order of the lines, chained in one append
        let mut records = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let created = match plan {
                Plan::Done(Ok(c)) => Some((c, batch[i].documents.len())),
                _ => None,
            };
            if let Some((c, docs)) = created {
                let (event, text) = match c.outcome {
                    CreateOutcome::Created => {
                        (AuditEvent::IdentityCreated, format!("identity created with {docs} document(s)"))
                    }
                    CreateOutcome::AlreadyPresent => {
                        (AuditEvent::IdentityAlreadyPresent, "identity already present".to_owned())
                    }
                };
                records.push(event.record(ctx, now, Some((c.uin.masked(), "UIN")), text));
            }
        }
        audit::append_in(&mut tx, self.vault(), &records).await?;
        tx.commit().await.map_err(db_err)?;

        // lines another importer stored first are already present
        if !raced.is_empty() {
            let raced_keys: Vec<String> = raced.iter().map(|i| keys[*i].clone()).collect();
            let found = self.uins_for_sources(&raced_keys).await?;
            for i in raced {
                plans[i] = Plan::Done(match found.get(&keys[i]) {
                    Some(uin) => Ok(already(uin)),
                    None => Err(StoreError::Conflict("identity could not be stored".into())),
                });
            }
        }
        let mut out: Vec<Result<CreatedIdentity, StoreError>> = Vec::with_capacity(plans.len());
        for plan in plans {
            out.push(match plan {
                Plan::Done(r) => r,
                Plan::SameAs(j) => match &out[j] {
                    Ok(c) => Ok(already(&c.uin)),
                    Err(e) => Err(e.clone()),
                },
                Plan::Create { .. } | Plan::Pending => Err(StoreError::Unavailable("identity left unplanned".into())),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_only() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 2, false, "RETURNING a"),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING a"
        );
        assert_eq!(values_sql("INSERT INTO t (a)", 2, 1, true, ""), "INSERT INTO t (a) VALUES (?), (?) ");
        assert_eq!(in_list(3, false), "$1, $2, $3");
    }
}
