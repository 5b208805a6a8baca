//! The credential's ids: Terraform's resource id and the import ids it accepts.

use super::presets::check_name;
use crate::resources::common::is_guid;

const ID_SEPARATOR: &str = "/federatedIdentityCredential/";

/// How an import id names the credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportId {
    ById {
        object_id: String,
        credential_id: String,
    },
    ByName {
        object_id: String,
        name: String,
    },
}

impl ImportId {
    pub fn object_id(&self) -> &str {
        match self {
            ImportId::ById { object_id, .. } | ImportId::ByName { object_id, .. } => object_id,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ImportId::ById { credential_id, .. } => format!("with id {credential_id}"),
            ImportId::ByName { name, .. } => format!("named {name:?}"),
        }
    }
}

const IMPORT_FORMATS: &str = "Import a federated credential with either\n\
  - `<application object id>/federatedIdentityCredential/<credential id>` (the azuread \
    provider's format, e.g. \
    `00000000-0000-4000-8000-000000000001/federatedIdentityCredential/00000000-0000-4000-8000-000000000002`), or\n\
  - `<application object id>/<credential name>` (e.g. \
    `00000000-0000-4000-8000-000000000001/psoxy-outlook-cal-aws`).";

pub fn parse_import_id(id: &str) -> Result<ImportId, String> {
    let trimmed = id.trim();
    let rest = trimmed
        .strip_prefix("/applications/")
        .or_else(|| trimmed.strip_prefix('/'))
        .unwrap_or(trimmed);
    let bad = |why: &str| {
        format!("{id:?} is not a federated credential import id: {why}\n\n{IMPORT_FORMATS}")
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let object_id = parts[0];
    if !is_guid(object_id) {
        return Err(bad(
            "it must start with the application's object id (a GUID).",
        ));
    }
    match parts.as_slice() {
        [_, segment, credential_id]
            if segment.eq_ignore_ascii_case("federatedIdentityCredential")
                || segment.eq_ignore_ascii_case("federatedIdentityCredentials") =>
        {
            if !is_guid(credential_id) {
                return Err(bad("the credential id must be a GUID."));
            }
            Ok(ImportId::ById {
                object_id: object_id.to_ascii_lowercase(),
                credential_id: credential_id.to_ascii_lowercase(),
            })
        }
        [_, name] => {
            if let Err((_, why)) = check_name(name) {
                return Err(bad(&why));
            }
            Ok(ImportId::ByName {
                object_id: object_id.to_ascii_lowercase(),
                name: (*name).to_owned(),
            })
        }
        _ => Err(bad("it has the wrong number of parts.")),
    }
}

pub fn format_id(object_id: &str, credential_id: &str) -> String {
    format!("{object_id}{ID_SEPARATOR}{credential_id}")
}
