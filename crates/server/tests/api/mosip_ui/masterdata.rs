//! The masterdata the app reads (the demo country), in masterdata's shapes: "nothing found" is
//! RES-SER-418 with no response, never an empty list; the centre lists and the supporting
//! documents as PDFs.

use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{JANE, Raw, TestApp};

impl TestApp {
    /// A public GET of the resident API.
    async fn md(&self, uri: String) -> Raw {
        self.ui_get(&format!("/resident/v1{uri}"), "").await
    }
}

on_both!(the_demo_country_answers_as_masterdata_does,);

fn not_found(r: &Value) {
    assert_eq!(r["response"], Value::Null, "{r}");
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-418", "{r}");
}

async fn the_demo_country_answers_as_masterdata_does(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };

    // levels, the country first, in the language asked for; masterdata's envelope
    let r = t.md("/proxy/masterdata/locationHierarchyLevels/fra".to_owned()).await.json();
    assert_eq!((r["id"].clone(), r["version"].clone(), r["errors"].clone()), (Value::Null, Value::Null, Value::Null));
    let names: Vec<&str> = r["response"]["locationHierarchyLevels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["hierarchyLevelName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Pays", "Région", "Province", "Ville", "Zone", "Code postal"]);
    not_found(&t.md("/proxy/masterdata/locationHierarchyLevels/xyz".to_owned()).await.json());

    // the address dropdowns: children grouped by each language asked for, for a logged-in resident
    let uri = "/resident/v1/auth-proxy/masterdata/locations/immediatechildren/MOR?languageCodes=eng,ara";
    assert_eq!(t.ui_get(uri, "").await.status.as_u16(), 401);
    let jane = t.app_login(JANE).await;
    let r = t.ui_get(uri, &jane).await.json();
    let regions = &r["response"]["locations"];
    assert_eq!(regions.as_object().unwrap().keys().collect::<Vec<_>>(), ["ara", "eng"]);
    assert_eq!(regions["eng"][0]["code"], "RSK");
    assert_eq!(regions["ara"][0]["name"], "الرباط سلا القنيطرة");
    assert_eq!(regions["eng"][0]["hierarchyName"], "Region");
    not_found(
        &t.ui_get("/resident/v1/auth-proxy/masterdata/locations/immediatechildren/14022?languageCodes=eng", &jane)
            .await
            .json(),
    );
    let bad =
        t.ui_get("/resident/v1/auth-proxy/masterdata/locations/immediatechildren/MOR?languageCodes=xyz", &jane).await;
    assert_eq!(bad.json()["errors"][0]["errorCode"], "RES-SER-410");
    let r = t.md("/proxy/masterdata/locations/immediatechildren/RSK/eng".to_owned()).await.json();
    assert_eq!(r["response"]["locations"].as_array().unwrap().len(), 2);
    let r = t.md("/proxy/masterdata/locations/info/10106/eng".to_owned()).await.json();
    assert_eq!(
        (r["response"]["parentLocCode"].clone(), r["response"]["hierarchyName"].clone()),
        (json!("AGDL"), json!("Postal Code"))
    );

    // dynamic fields: one entry per language, the same codes
    let r = t.md("/proxy/masterdata/dynamicfields/gender".to_owned()).await.json();
    let genders = r["response"].as_array().unwrap();
    assert_eq!(genders.len(), 3);
    assert!(genders.iter().all(|g| g["fieldVal"].as_array().unwrap().iter().any(|v| v["code"] == "FLE")));
    not_found(&t.md("/proxy/masterdata/dynamicfields/bloodGroup".to_owned()).await.json());
    let r = t
        .ui_get("/resident/v1/auth-proxy/masterdata/dynamicfields/preferredLang/fra?withValue=true", &jane)
        .await
        .json();
    assert!(r["response"]["values"].as_array().unwrap().contains(&json!({"code": "ara", "value": "Arabe"})), "{r}");

    // documents
    let r = t.md("/proxy/masterdata/documenttypes/POA/eng".to_owned()).await.json();
    assert!(
        r["response"]["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "RNC" && d["name"] == "Rental contract")
    );
    not_found(&t.md("/proxy/masterdata/documenttypes/XYZ/eng".to_owned()).await.json());
    let r = t.md("/proxy/masterdata/validdocuments/ara".to_owned()).await.json();
    assert_eq!(r["response"]["documentcategories"].as_array().unwrap().len(), 5);

    // centres under the first area whose name holds the text, a page at a time, counted from 0
    let page = |n: u32, size: u32| {
        format!(
            "/proxy/masterdata/registrationcenters/page/eng/3/rab?pageNumber={n}&pageSize={size}&orderBy=desc&sortBy=createdDateTime"
        )
    };
    let r = t.md(page(1, 1)).await.json();
    assert_eq!(
        (r["response"]["totalItems"].clone(), r["response"]["totalPages"].clone(), r["response"]["pageNo"].clone()),
        (json!(2), json!(2), json!(1))
    );
    let centre = &r["response"]["data"][0];
    assert_eq!(
        (centre["centerStartTime"].clone(), centre["centerEndTime"].clone()),
        (json!("09:00:00"), json!("17:00:00"))
    );
    assert!(centre["latitude"].is_string() && centre.get("createdDateTime").is_some());
    not_found(&t.md(page(2, 1)).await.json());
    not_found(&t.md("/proxy/masterdata/registrationcenters/page/eng/3/Atlantis".to_owned()).await.json());
    let r = t
        .md("/proxy/masterdata/registrationcenters/page/ara/1/%D8%A7%D9%84%D8%B1%D8%A8%D8%A7%D8%B7".into())
        .await
        .json();
    assert_eq!(r["response"]["totalItems"], 4, "the Arabic name of Rabat-Salé-Kénitra holds الرباط");
    let r = t.md("/proxy/masterdata/registrationcenters/page/eng/x/rab".to_owned()).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410");
    let r = t.md("/proxy/masterdata/registrationcenters/eng/4/names?name=agdal".to_owned()).await.json();
    assert_eq!(r["response"]["registrationCenters"][0]["id"], "10003");

    // near a point (longitude first, metres): Ben Mansour's centre, then Saknia's; none at sea
    let r = t
        .md("/proxy/masterdata/getcoordinatespecificregistrationcenters/eng/-6.58022/34.26107/2000".into())
        .await
        .json();
    assert_eq!(r["errors"], Value::Null);
    let ids: Vec<&str> =
        r["response"]["registrationCenters"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["10001", "10002"]);
    not_found(
        &t.md("/proxy/masterdata/getcoordinatespecificregistrationcenters/eng/-20/30/2000".to_owned()).await.json(),
    );
    let r = t.md("/proxy/masterdata/getcoordinatespecificregistrationcenters/eng/-6.5/95/2000".to_owned()).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410");

    // working days, Sunday first, in the language asked for
    let r = t.md("/proxy/masterdata/workingdays/10003/ara".to_owned()).await.json();
    assert_eq!(r["response"]["workingdays"].as_array().unwrap().len(), 6);
    assert_eq!(r["response"]["workingdays"][0]["name"], "الاثنين");
    not_found(&t.md("/proxy/masterdata/workingdays/99999/eng".to_owned()).await.json());

    // the PDFs: the search's centres, those near a point, the documents accepted
    let list = t.md("/download/registration-centers-list?langcode=eng&hierarchylevel=1&name=Rabat".to_owned()).await;
    assert_eq!(list.headers["content-type"], "application/pdf");
    let disposition = list.headers["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"Registration_centers_"), "{disposition}");
    let text = super::requests::pdf_text(&list);
    for needle in ["Kenitra Ben Mansour Centre", "Rabat Hassan Centre", "MON-SAT | 09.00 AM-05.00 PM"] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    let near = t.md(
        "/download/nearestRegistrationcenters?langcode=fra&longitude=-6.58022&latitude=34.26107&proximitydistance=2000"
            .into(),
    )
    .await;
    let text = super::requests::pdf_text(&near);
    assert!(text.contains("Centre Kénitra Saknia") && !text.contains("Rabat"), "{text}");
    let docs = t.md("/download/supporting-documents?langcode=eng".to_owned()).await;
    assert_eq!(docs.headers["content-type"], "application/pdf");
    let text = super::requests::pdf_text(&docs);
    assert!(text.contains("Proof of Address") && text.contains("Rental contract"), "{text}");
    for uri in [
        "/download/supporting-documents?langcode=xyz",
        "/download/registration-centers-list?langcode=eng&hierarchylevel=1",
        "/download/registration-centers-list?langcode=eng&hierarchylevel=1&name=Atlantis",
    ] {
        let r = t.md(uri.to_owned()).await;
        assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"), "{uri}");
        assert!(r.json()["errors"][0]["errorCode"].as_str().unwrap().starts_with("RES-SER-4"), "{uri}");
    }
}
