//! Parse any UTF-8 input as an image reference and as a CLI store reference; whatever
//! parses must print to a form that parses back to the same reference.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lineage_oci::{ImageRef, StoreRef};

/// Everything but `tag_defaulted`, which is false once a defaulted `latest` is printed.
fn fields(r: &ImageRef) -> (&str, &str, Option<&str>, Option<&str>) {
    (
        r.registry(),
        r.repository(),
        r.tag(),
        r.digest().map(|d| d.as_str()),
    )
}

fn check_image_ref(input: &str) {
    let Ok(r) = ImageRef::parse(input) else {
        return;
    };
    let printed = r.to_string();
    let back = match ImageRef::parse(&printed) {
        Ok(back) => back,
        Err(e) => panic!("ImageRef `{input}` printed as `{printed}`, which does not parse: {e}"),
    };
    assert_eq!(
        fields(&back),
        fields(&r),
        "ImageRef `{input}` printed as `{printed}` re-parses differently"
    );
    assert_eq!(back.to_string(), printed, "ImageRef printing is not stable");
    // The other accessors must not panic either.
    let _ = (r.familiar(), r.api_host(), r.repository_ref(), r.target());
}

fn check_store_ref(input: &str) {
    let Ok(r) = StoreRef::parse(input) else {
        return;
    };
    let printed = r.to_string();
    let back = match StoreRef::parse(&printed) {
        Ok(back) => back,
        Err(e) => panic!("StoreRef `{input}` printed as `{printed}`, which does not parse: {e}"),
    };
    let same = match (&r, &back) {
        (StoreRef::Registry(a), StoreRef::Registry(b)) => fields(a) == fields(b),
        _ => r == back,
    };
    assert!(
        same,
        "StoreRef `{input}` printed as `{printed}` re-parses differently: {r:?} vs {back:?}"
    );
    let _ = (r.target(), r.path());
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_image_ref(input);
    check_store_ref(input);
});
