//! Several tenants in one emulator: each has its own directory (objects created
//! in one are invisible in the others), its own signing key, and Graph serves a
//! request from the directory of its token's `tid`. The first is the home tenant.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::state::Directory;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenants {
    pub home_tenant: String,
    pub tenants: Vec<Directory>,
}

impl Tenants {
    pub fn get(&self, tenant_id: &str) -> Option<&Directory> {
        self.tenants
            .iter()
            .find(|d| d.tenant_id.eq_ignore_ascii_case(tenant_id))
    }
    pub fn get_mut(&mut self, tenant_id: &str) -> Option<&mut Directory> {
        self.tenants
            .iter_mut()
            .find(|d| d.tenant_id.eq_ignore_ascii_case(tenant_id))
    }
    pub fn home(&self) -> &Directory {
        let home = self.home_tenant.clone();
        self.get(&home).unwrap_or(&self.tenants[0])
    }
    pub fn home_mut(&mut self) -> &mut Directory {
        let i = self
            .tenants
            .iter()
            .position(|d| d.tenant_id.eq_ignore_ascii_case(&self.home_tenant))
            .unwrap_or(0);
        &mut self.tenants[i]
    }
    /// The tenant a login URL names: an id, or else a verified domain (the home
    /// tenant first, since the seeded tenants share their domain).
    pub fn for_login(&self, tenant: &str) -> Option<&Directory> {
        self.get(tenant).or_else(|| {
            std::iter::once(self.home())
                .chain(self.tenants.iter())
                .find(|d| d.domain.eq_ignore_ascii_case(tenant))
        })
    }
    pub fn ids(&self) -> Vec<String> {
        self.tenants.iter().map(|d| d.tenant_id.clone()).collect()
    }

    /// Reads `--state`: this format, or a single directory as written before
    /// tenants existed (it becomes the home tenant).
    pub fn load(path: &Path) -> std::io::Result<Option<Tenants>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let invalid = |e| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
        if v.get("tenants").is_some() {
            return serde_json::from_value(v).map(Some).map_err(invalid);
        }
        let d: Directory = serde_json::from_value(v).map_err(invalid)?;
        Ok(Some(Tenants {
            home_tenant: d.tenant_id.clone(),
            tenants: vec![d],
        }))
    }

    /// Atomic write: a temp file beside the target, then rename over it.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_single_directory_written_before_tenants() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let d = Directory::seeded("11111111-1111-4111-8111-111111111111", None);
        std::fs::write(&p, serde_json::to_vec(&d).unwrap()).unwrap();
        let t = Tenants::load(&p).unwrap().unwrap();
        assert_eq!(t.home().tenant_id, d.tenant_id);
        assert_eq!(t.tenants.len(), 1);
        t.save(&p).unwrap();
        let again = Tenants::load(&p).unwrap().unwrap();
        assert_eq!(again.ids(), vec![d.tenant_id.clone()]);
        assert_eq!(again.home().signing_key, d.signing_key);
    }
}
