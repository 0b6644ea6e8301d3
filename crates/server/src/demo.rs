//! Demo data: a handful of residents with known UINs, contact details and a photo, and one RID in
//! every status a resident can be shown, so a new user can try every service at once.

use anyhow::{Result, anyhow};
use resident_domain::ids::Rid;
use resident_domain::masterdata::Masterdata;
use resident_domain::ports::{NewDocument, RegistrationRepository};
use resident_domain::registration::{
    InternalStatus, Registration, RegistrationType, StageRecord, TransactionType, external_status, resident_status,
};
use resident_domain::usecases::{CreateIdentity, create_identity};
use serde_json::json;
use time::macros::datetime;

use crate::app::App;

pub struct DemoResident {
    pub uin: &'static str,
    pub names: [&'static str; 3],
    pub dob: &'static str,
    pub gender: [&'static str; 3],
    pub email: &'static str,
    pub phone: &'static str,
    pub lang: &'static str,
    /// The postal code (a leaf of the masterdata's location tree) the resident lives at.
    pub postal_code: &'static str,
    pub colour: [u8; 3],
}

pub const RESIDENTS: [DemoResident; 5] = [
    DemoResident {
        uin: "5075291708",
        names: ["Jane Doe", "جين دو", "Jane Doe"],
        dob: "1990/05/12",
        gender: ["Female", "أنثى", "Femme"],
        email: "jane.doe@example.org",
        phone: "9876543210",
        lang: "eng",
        postal_code: "14022",
        colour: [70, 110, 160],
    },
    DemoResident {
        uin: "8296572490",
        names: ["Amina Benali", "أمينة بنعلي", "Amina Benali"],
        dob: "1985/11/03",
        gender: ["Female", "أنثى", "Femme"],
        email: "amina.benali@example.org",
        phone: "9123456780",
        lang: "ara",
        postal_code: "10106",
        colour: [150, 90, 60],
    },
    DemoResident {
        uin: "3645074956",
        names: ["Jean Dupont", "جان دوبون", "Jean Dupont"],
        dob: "1978/02/21",
        gender: ["Male", "ذكر", "Homme"],
        email: "jean.dupont@example.org",
        phone: "9234567801",
        lang: "fra",
        postal_code: "20330",
        colour: [60, 130, 90],
    },
    DemoResident {
        uin: "7509619239",
        names: ["Youssef El Amrani", "يوسف العمراني", "Youssef El Amrani"],
        dob: "2001/07/30",
        gender: ["Male", "ذكر", "Homme"],
        email: "youssef.elamrani@example.org",
        phone: "9345678012",
        lang: "ara",
        postal_code: "30110",
        colour: [120, 80, 140],
    },
    DemoResident {
        uin: "2013023805",
        names: ["Sara Kim", "سارة كيم", "Sara Kim"],
        dob: "1995/12/01",
        gender: ["Female", "أنثى", "Femme"],
        email: "sara.kim@example.org",
        phone: "9456780123",
        lang: "eng",
        postal_code: "90060",
        colour: [160, 120, 40],
    },
];

fn tagged(values: [&str; 3]) -> serde_json::Value {
    json!([
        {"language": "eng", "value": values[0]},
        {"language": "ara", "value": values[1]},
        {"language": "fra", "value": values[2]},
    ])
}

/// A demo resident's identity; the address levels are those of their postal code in the masterdata.
fn identity_of(r: &DemoResident, masterdata: &Masterdata) -> serde_json::Value {
    let mut identity = json!({"identity": {
        "IDSchemaVersion": 0.1,
        "UIN": r.uin,
        "fullName": tagged(r.names),
        "dateOfBirth": r.dob,
        "gender": tagged(r.gender),
        "addressLine1": tagged(["12 Avenue Mohammed V", "12 شارع محمد الخامس", "12 avenue Mohammed V"]),
        "addressLine2": tagged(["Apartment 4", "شقة 4", "Appartement 4"]),
        "phone": r.phone,
        "email": r.email,
        "preferredLang": r.lang,
    }});
    let mut at = masterdata.location(r.postal_code);
    while let Some(place) = at {
        let field = masterdata.hierarchy().get(usize::from(place.level)).and_then(|h| h.field.as_deref());
        if let Some(field) = field {
            identity["identity"][field] = if field == "postalCode" {
                json!(place.code)
            } else {
                let name = |l: &str| place.name.get(l).map(String::as_str).unwrap_or_default();
                tagged([name("eng"), name("ara"), name("fra")])
            };
        }
        at = place.parent.as_deref().and_then(|p| masterdata.location(p));
    }
    identity
}

/// A simple portrait: a silhouette on a coloured background, as PNG.
pub fn portrait(colour: [u8; 3]) -> Result<Vec<u8>> {
    const W: u32 = 120;
    const H: u32 = 150;
    let mut pixels = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let (fx, fy) = (x as f32, y as f32);
            let head = ((fx - 60.0) / 26.0).powi(2) + ((fy - 58.0) / 32.0).powi(2) <= 1.0;
            let shoulders = fy > 100.0 && ((fx - 60.0) / 52.0).powi(2) + ((fy - 150.0) / 48.0).powi(2) <= 1.0;
            let px = if head || shoulders {
                [235, 230, 225]
            } else {
                let shade = 1.0 - fy / (H as f32) * 0.35;
                colour.map(|c| (c as f32 * shade) as u8)
            };
            pixels.extend_from_slice(&px);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, W, H);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// (sequence in the RID, internal status, latest stage, retries, stage history)
type DemoRid = (u32, InternalStatus, TransactionType, i32, &'static [(TransactionType, &'static str)]);

/// One demo RID per resident-facing status.
fn registrations() -> Vec<(Registration, Vec<StageRecord>)> {
    use InternalStatus as S;
    use TransactionType as T;
    let base = datetime!(2026-11-01 09:00 UTC);
    let plan: [DemoRid; 6] = [
        (
            1,
            S::Processed,
            T::Print,
            0,
            &[
                (T::PacketReceiver, "SUCCESS"),
                (T::UploadPacket, "SUCCESS"),
                (T::ValidatePacket, "SUCCESS"),
                (T::DemographicVerification, "SUCCESS"),
                (T::UinGenerator, "SUCCESS"),
                (T::Print, "SUCCESS"),
            ],
        ),
        (
            2,
            S::Processing,
            T::SecurezoneNotification,
            0,
            &[(T::PacketReceiver, "SUCCESS"), (T::SecurezoneNotification, "SUCCESS")],
        ),
        (3, S::Failed, T::UploadPacket, 2, &[(T::PacketReceiver, "SUCCESS"), (T::UploadPacket, "FAILED")]),
        (4, S::Failed, T::PacketReceiver, 10, &[(T::PacketReceiver, "FAILED")]),
        (
            5,
            S::Rejected,
            T::ManualAdjudication,
            0,
            &[(T::PacketReceiver, "SUCCESS"), (T::ValidatePacket, "SUCCESS"), (T::ManualAdjudication, "REJECTED")],
        ),
        (
            6,
            S::PausedForAdditionalInfo,
            T::DemographicVerification,
            0,
            &[
                (T::PacketReceiver, "SUCCESS"),
                (T::ValidatePacket, "SUCCESS"),
                (T::DemographicVerification, "IN_PROGRESS"),
            ],
        ),
    ];
    plan.iter()
        .filter_map(|(seq, status, latest, retries, stages)| {
            let at = base + time::Duration::minutes(i64::from(*seq));
            let rid = Rid::parse(&format!("1000110001{seq:05}20261101{:02}{:02}00", 9, seq)).ok()?;
            let stage_records: Vec<StageRecord> = stages
                .iter()
                .enumerate()
                .map(|(i, (t, s))| StageRecord {
                    transaction_type: *t,
                    status: (*s).into(),
                    comment: format!("{} {}", t.stage_name(), s.to_lowercase()),
                    at: at + time::Duration::minutes(i as i64),
                })
                .collect();
            let last_success =
                stages.iter().rev().find(|(_, s)| *s == "SUCCESS").map(|(t, _)| t.stage_name().to_owned());
            let updated = stage_records.last().map(|s| s.at).unwrap_or(at);
            Some((
                Registration {
                    rid,
                    registration_type: RegistrationType::New,
                    status: Some(*status),
                    latest_transaction: Some(*latest),
                    latest_transaction_at: Some(updated),
                    last_success_stage: last_success,
                    retry_count: *retries,
                    created_at: at,
                    updated_at: updated,
                },
                stage_records,
            ))
        })
        .collect()
}

pub struct DemoReport {
    pub residents: Vec<(&'static DemoResident, &'static str)>,
    pub rids: Vec<(String, &'static str)>,
}

/// Creates the demo data (idempotent: what exists is left as it is).
pub async fn seed(app: &App) -> Result<DemoReport> {
    let ctx = app.operator_context();
    let now = app.clock.now();
    let mut residents = Vec::new();
    for r in RESIDENTS.iter() {
        let photo = NewDocument { category: "photo".into(), format: "png".into(), content: portrait(r.colour)? };
        let created = create_identity(
            &app.store,
            &app.store,
            &app.schema,
            &ctx,
            CreateIdentity {
                document: identity_of(r, &app.masterdata),
                registration_id: Some(format!("demo-{}", r.uin)),
                documents: vec![photo],
            },
            now,
        )
        .await
        .map_err(|e| anyhow!("demo resident {}: {} {}", r.names[0], e.code(), e.message()))?;
        let outcome = match created.outcome {
            resident_domain::ports::CreateOutcome::Created => "created",
            resident_domain::ports::CreateOutcome::AlreadyPresent => "already present",
        };
        residents.push((r, outcome));
    }
    let policy = app.status_policy();
    let mut rids = Vec::new();
    for (reg, stages) in registrations() {
        if app.store.find_registration(&reg.rid).await?.is_none() {
            app.store.record_registration(&reg, &stages, &ctx).await?;
        }
        rids.push((reg.rid.as_str().to_owned(), resident_status(external_status(&reg, now, &policy))));
    }
    Ok(DemoReport { residents, rids })
}

pub fn print_report(report: &DemoReport) {
    println!("Demo residents (request an OTP with the UIN; the OTP arrives by email/SMS to these contacts):");
    println!("  {:<20} {:<12} {:<30} {:<12} {:<5} {:<9}", "NAME", "UIN", "EMAIL", "PHONE", "LANG", "CARD PW");
    for (r, outcome) in &report.residents {
        // the card password rule, shown for the demo: four letters of the English name, year of birth
        let identity = resident_domain::identity::IdentityJson(
            json!({"fullName": [{"language": "eng", "value": r.names[0]}], "dateOfBirth": r.dob})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let password = resident_domain::card::card_password(&identity, "eng").unwrap_or_default();
        println!(
            "  {:<20} {:<12} {:<30} {:<12} {:<5} {:<9} ({outcome})",
            r.names[0], r.uin, r.email, r.phone, r.lang, password
        );
    }
    println!("  (the card PDF's password: the first four letters of the name in capitals, then the year of birth)");
    println!();
    println!("Registrations to check with POST /resident/v1/rid/check-status:");
    println!("  {:<31} RIDSTATUS", "RID");
    for (rid, status) in &report.rids {
        println!("  {rid:<31} {status}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resident_domain::registration::RESIDENT_STATUSES;

    #[test]
    fn demo_covers_every_resident_status() {
        let now = datetime!(2026-11-26 09:00 UTC);
        let shown: Vec<&str> = registrations()
            .iter()
            .map(|(r, _)| resident_status(external_status(r, now, &Default::default())))
            .collect();
        assert_eq!(shown.len(), 6);
        for s in RESIDENT_STATUSES {
            assert!(shown.contains(&s), "{s} missing from {shown:?}");
        }
    }

    #[test]
    fn demo_uins_are_valid_and_portraits_are_png() {
        for r in &RESIDENTS {
            resident_domain::ids::Uin::parse(r.uin).unwrap();
        }
        let png = portrait([10, 20, 30]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
