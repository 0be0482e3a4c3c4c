//! The audit trail's `verify`, on any bytes: the input, with each line's `prev` and `hash`
//! first made right for its text (`trail::reseal`), so that edits reach the checks of form
//! and order. Properties: `verify` accepts exactly what the verifier written from
//! docs/audit-format.md accepts, finds the same first broken line and the same chain ends;
//! and a trail it accepts is refused once any one byte of it is changed.
#![no_main]

use cage::audit::verify;
use cage_fuzz::trail;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = trail::reseal(data);
    let verified = verify(&text);
    let specified = trail::verify(&text);
    match (&verified, &specified) {
        (Ok(v), Ok((records, continues, last))) => {
            assert_eq!(v.records, *records);
            assert_eq!(v.continues.as_ref().map(|h| (h.seq, h.hash.clone())), *continues);
            assert_eq!((v.last.seq, v.last.hash.clone()), *last);
        }
        (Err(broken), Err(line)) => assert_eq!(broken.line, *line, "{broken}"),
        _ => panic!(
            "cage: {verified:?}, the specification: {specified:?}, for {:?}",
            String::from_utf8_lossy(&text)
        ),
    }
    if verified.is_err() || text.is_empty() {
        return;
    }
    // 32 bytes spread over the trail, from a different start for each input: over many
    // inputs, every place of a record is tried.
    let change = data.first().map_or(1, |&b| b.max(1));
    let start = data.iter().fold(0usize, |n, &b| n.wrapping_mul(31).wrapping_add(usize::from(b)));
    for k in 0..32 {
        let at = start.wrapping_add(k * 7919) % text.len();
        let mut changed = text.clone();
        changed[at] ^= change;
        assert!(verify(&changed).is_err(), "byte {at} changed ^{change:#x} and still verified");
    }
});
