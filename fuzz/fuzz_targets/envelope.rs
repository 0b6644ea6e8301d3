//! MOSIP request envelopes as the resident API reads them: any bytes are a JSON object, or a named
//! refusal; an object passes MOSIP's envelope checks or names the field that failed; a request time
//! that parses writes back to one that parses to the same instant.
#![no_main]

use axum::body::Bytes;
use libfuzzer_sys::fuzz_target;
use resident_domain::clock::{mosip_datetime, parse_mosip_datetime};
use resident_web::envelope::{json_body, text, validate_resident};

fuzz_target!(|data: &[u8]| {
    match json_body(Ok(Bytes::copy_from_slice(data))) {
        Ok(body) => {
            for field in ["id", "version", "requesttime", "request"] {
                let _ = text(&body, field);
            }
            for (api, version) in [("mosip.resident.checkstatus", "v1"), ("mosip.resident.updateuin", "v1")] {
                if let Err(e) = validate_resident(&body, api, version) {
                    assert!(!e.code().is_empty() && !e.message().is_empty());
                }
            }
        }
        Err(e) => assert_eq!(e.code(), "RES-SER-418", "a body that is not a JSON object is RES-SER-418"),
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(at) = parse_mosip_datetime(s)
    {
        // written with milliseconds: the same instant to the millisecond
        let again = parse_mosip_datetime(&mosip_datetime(at)).expect("what we write, we read");
        assert_eq!(again.unix_timestamp_nanos() / 1_000_000, at.unix_timestamp_nanos() / 1_000_000);
    }
});
