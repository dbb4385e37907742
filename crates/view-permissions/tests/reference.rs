//! The view JSON of OBP's v5.1.0 reference (its example, kept as a fixture): every `can_*`
//! field is a permission of ours, and every permission of ours is one of its fields.

use assent_view_permissions::permission::{Permission, PermissionSet};

const REFERENCE_VIEW: &str = include_str!("fixtures/obp-v5.1.0-view.json");

#[test]
fn the_permission_catalogue_is_the_reference_field_list() {
    let view: serde_json::Value = serde_json::from_str(REFERENCE_VIEW).unwrap();
    let mut reference: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("can_"))
        .collect();
    reference.sort_unstable();
    let mut ours: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
    ours.sort_unstable();
    assert_eq!(ours, reference);
}

#[test]
fn every_field_round_trips() {
    let view: serde_json::Value = serde_json::from_str(REFERENCE_VIEW).unwrap();
    let all: PermissionSet = serde_json::from_value(view.clone()).unwrap();
    assert_eq!(
        all,
        PermissionSet::all(),
        "the example sets every field true"
    );
    let back = serde_json::to_value(all).unwrap();
    for (field, value) in back.as_object().unwrap() {
        assert_eq!(&view[field], value, "{field}");
    }
    for permission in Permission::ALL {
        let mut one = PermissionSet::empty();
        one.insert(*permission);
        let json = serde_json::to_value(one).unwrap();
        assert_eq!(json[permission.name()], true);
        assert_eq!(serde_json::from_value::<PermissionSet>(json).unwrap(), one);
    }
}
