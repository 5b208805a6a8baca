//! One token per provider process, shared by every concurrent operation: a token with
//! at least [`RENEW_BEFORE`] left is handed out as is; otherwise the first caller
//! fetches a new one while holding the lock, and everyone waiting gets that result
//! (N concurrent callers cause one fetch). Every fetched token is checked before it is
//! used: its tenant must be the configured one and it must name its caller (`oid`).

use super::{AccessToken, AuthError, TokenClaims, TokenSource};
use crate::graph::is_guid;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Renew a token this long before it expires (long applies outlive a token).
pub const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// A token still valid this long may be used when its renewal fails.
const STILL_USABLE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    token: Option<AccessToken>,
    /// The error of the last fetch, handed to the callers that waited for it.
    last_error: Option<AuthError>,
}

pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    expected_tenant: Option<String>,
    state: tokio::sync::Mutex<State>,
    /// Fetches finished so far; changed only with `state` locked.
    fetches: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.source.describe())
            .field("expected_tenant", &self.expected_tenant)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// `expected_tenant` is the configured `tenant_id`; without it any tenant is taken.
    pub fn new(source: Arc<dyn TokenSource>, expected_tenant: Option<String>) -> Self {
        TokenCache {
            source,
            expected_tenant: expected_tenant
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            state: tokio::sync::Mutex::new(State::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Selects the source for these settings (no I/O) and caches it.
    pub fn from_settings(
        settings: &crate::config::ProviderSettings,
        http: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AuthError> {
        let source = super::select_source(settings, http, env)?;
        Ok(TokenCache::new(source, settings.tenant_id.clone()))
    }

    /// How tokens are obtained, for logs and diagnostics.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// A token valid for at least five more minutes.
    pub async fn token(&self) -> Result<AccessToken, AuthError> {
        let seen = self.fetches.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        let now = SystemTime::now();
        if let Some(token) = &state.token
            && token.expires_at > now + RENEW_BEFORE
        {
            return Ok(token.clone());
        }
        // A fetch finished while this caller waited: share its failure instead of
        // repeating it once per waiting caller.
        if self.fetches.load(Ordering::SeqCst) != seen
            && let Some(error) = &state.last_error
        {
            return match &state.token {
                Some(old) if old.expires_at > now + STILL_USABLE => Ok(old.clone()),
                _ => Err(error.clone()),
            };
        }
        let result = match self.source.fetch().await {
            Ok(token) => self.check(token),
            Err(e) => Err(e),
        };
        self.fetches.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(token) => {
                tracing::debug!(
                    source = %self.source.describe(),
                    tenant = token.claims.tenant_id.as_deref().unwrap_or("?"),
                    object_id = token.claims.object_id.as_deref().unwrap_or("?"),
                    expires_in_secs = token
                        .expires_at
                        .duration_since(SystemTime::now())
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                    "fetched a Microsoft Graph token"
                );
                state.last_error = None;
                state.token = Some(token.clone());
                Ok(token)
            }
            Err(error) => {
                tracing::debug!(
                    source = %self.source.describe(),
                    error = %error.summary,
                    "fetching a Microsoft Graph token failed"
                );
                state.last_error = Some(error.clone());
                match &state.token {
                    // Renewal failed but the token at hand still works: use it, and try
                    // again at the next call.
                    Some(old) if old.expires_at > SystemTime::now() + STILL_USABLE => {
                        tracing::warn!(
                            "renewing the Microsoft Graph token failed ({}); using the current \
                             one until it expires",
                            error.summary
                        );
                        Ok(old.clone())
                    }
                    _ => {
                        state.token = None;
                        Err(error)
                    }
                }
            }
        }
    }

    /// Who the provider acts as (tenant, object id, app id, UPN): the claims of the
    /// current token, signing in first if needed.
    pub async fn caller(&self) -> Result<TokenClaims, AuthError> {
        Ok(self.token().await?.claims)
    }

    /// Drops the cached token, e.g. after Graph answered 401 for it; the next call
    /// fetches a new one.
    pub async fn invalidate(&self) {
        let mut state = self.state.lock().await;
        state.token = None;
        state.last_error = None;
    }

    /// The safety checks on a fresh token, before any Graph call can use it.
    fn check(&self, token: AccessToken) -> Result<AccessToken, AuthError> {
        let source = self.source.describe();
        let Some(tid) = token.claims.tenant_id.as_deref() else {
            return Err(AuthError::new(
                "Token without a tenant",
                format!(
                    "The token from {source} has no tid claim, so its tenant cannot be checked."
                ),
            ));
        };
        if let Some(expected) = &self.expected_tenant {
            // A verified domain (contoso.com) as tenant_id is resolved by Entra ID to
            // the tenant it belongs to, so only a GUID can be compared here.
            let comparable = is_guid(expected);
            if comparable && !tid.eq_ignore_ascii_case(expected) {
                return Err(AuthError::new(
                    "Signed in to the wrong tenant",
                    format!(
                        "The token from {source} is for tenant {tid}, but tenant_id is \
                         {expected}. Nothing was changed. If you sign in with the Azure CLI, \
                         run `az login --tenant {expected}` (check with `az account show`); \
                         otherwise fix tenant_id / ARM_TENANT_ID, or the credential, so that \
                         both name the same tenant."
                    ),
                ));
            }
            if !comparable {
                tracing::debug!(
                    tenant_id = %expected,
                    token_tenant = %tid,
                    "tenant_id is not a GUID; trusting Entra ID's resolution of it"
                );
            }
        }
        if token.claims.object_id.is_none() {
            return Err(AuthError::new(
                "Token without an object id",
                format!(
                    "The token from {source} (tenant {tid}) has no oid claim, so the provider \
                     cannot tell who it acts as (the default owner of what it creates). Sign \
                     in as a user or as an application with a service principal in this \
                     tenant."
                ),
            ));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use async_trait::async_trait;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    const TENANT: &str = "00000000-0000-4000-8000-00000000a001";
    const OTHER: &str = "99999999-0000-4000-8000-000000000999";

    /// Hands out tokens "tok-1", "tok-2", … with the given lifetime and claims.
    struct Fake {
        fetches: AtomicUsize,
        lifetime: Mutex<Duration>,
        claims: TokenClaims,
        fail: Mutex<bool>,
        delay: Duration,
    }

    impl Fake {
        fn new(lifetime: Duration) -> Arc<Self> {
            Arc::new(Fake {
                fetches: AtomicUsize::new(0),
                lifetime: Mutex::new(lifetime),
                claims: TokenClaims {
                    tenant_id: Some(TENANT.to_uppercase()),
                    object_id: Some("oid-1".into()),
                    app_id: None,
                    user_principal_name: Some("app-admin@psoxy.test".into()),
                    ..TokenClaims::default()
                },
                fail: Mutex::new(false),
                delay: Duration::from_millis(50),
            })
        }
        fn with_claims(claims: TokenClaims) -> Arc<Self> {
            let mut f = Arc::try_unwrap(Self::new(Duration::from_secs(3600)))
                .ok()
                .unwrap();
            f.claims = claims;
            Arc::new(f)
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl TokenSource for Fake {
        async fn fetch(&self) -> Result<AccessToken, AuthError> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(self.delay).await;
            if *self.fail.lock().unwrap() {
                return Err(AuthError::new("Fake failure", "the fake was told to fail"));
            }
            Ok(AccessToken {
                secret: Secret::new(format!("tok-{n}")),
                expires_at: SystemTime::now() + *self.lifetime.lock().unwrap(),
                claims: self.claims.clone(),
            })
        }
        fn describe(&self) -> String {
            "fake source".into()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twenty_concurrent_callers_cause_one_fetch() {
        let fake = Fake::new(Duration::from_secs(3600));
        let cache = Arc::new(TokenCache::new(fake.clone(), Some(TENANT.into())));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().secret.expose(), "tok-1");
        }
        assert_eq!(fake.fetches(), 1);
        assert_eq!(
            cache.caller().await.unwrap().object_id.as_deref(),
            Some("oid-1")
        );
        assert_eq!(fake.fetches(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_failure() {
        let fake = Fake::new(Duration::from_secs(3600));
        *fake.fail.lock().unwrap() = true;
        let cache = Arc::new(TokenCache::new(fake.clone(), None));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err().summary, "Fake failure");
        }
        assert_eq!(fake.fetches(), 1);
        // A later call tries again.
        *fake.fail.lock().unwrap() = false;
        assert!(cache.token().await.is_ok());
        assert_eq!(fake.fetches(), 2);
    }

    #[tokio::test]
    async fn a_token_within_five_minutes_of_expiry_is_renewed() {
        let fake = Fake::new(Duration::from_secs(4 * 60));
        let cache = TokenCache::new(fake.clone(), Some(TENANT.into()));
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-1");
        // 4 minutes left: renewed at once.
        *fake.lifetime.lock().unwrap() = Duration::from_secs(6 * 60);
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-2");
        // 6 minutes left: kept.
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-2");
        assert_eq!(fake.fetches(), 2);
        cache.invalidate().await;
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-3");
    }

    #[tokio::test]
    async fn a_failed_renewal_keeps_a_still_valid_token() {
        let fake = Fake::new(Duration::from_secs(4 * 60));
        let cache = TokenCache::new(fake.clone(), None);
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-1");
        *fake.fail.lock().unwrap() = true;
        assert_eq!(cache.token().await.unwrap().secret.expose(), "tok-1");
        assert_eq!(fake.fetches(), 2);
    }

    #[tokio::test]
    async fn the_wrong_tenant_is_refused_naming_both() {
        let fake = Fake::new(Duration::from_secs(3600));
        let cache = TokenCache::new(fake.clone(), Some(OTHER.into()));
        let e = cache.caller().await.unwrap_err();
        assert_eq!(e.summary, "Signed in to the wrong tenant");
        assert!(e.detail.contains(&TENANT.to_uppercase()), "{e}");
        assert!(e.detail.contains(OTHER), "{e}");
        assert!(
            e.detail.contains(&format!("az login --tenant {OTHER}")),
            "{e}"
        );
        assert!(e.detail.contains("ARM_TENANT_ID"), "{e}");
        assert!(!e.to_string().contains("tok-1"));
    }

    #[tokio::test]
    async fn tenant_comparison_ignores_case_and_domains_are_trusted() {
        let fake = Fake::new(Duration::from_secs(3600));
        let cache = TokenCache::new(fake.clone(), Some(format!(" {TENANT} ")));
        assert!(cache.token().await.is_ok());
        let cache = TokenCache::new(fake.clone(), Some("psoxy.test".into()));
        assert!(cache.token().await.is_ok());
    }

    #[tokio::test]
    async fn a_token_without_oid_is_refused() {
        let fake = Fake::with_claims(TokenClaims {
            tenant_id: Some(TENANT.into()),
            ..TokenClaims::default()
        });
        let e = TokenCache::new(fake, Some(TENANT.into()))
            .token()
            .await
            .unwrap_err();
        assert_eq!(e.summary, "Token without an object id");
    }

    /// A whole sign-in through the cache, with every log event of every library at
    /// TRACE captured (except the emulator's own): no secret, no token.
    #[tokio::test]
    async fn trace_logs_hold_neither_secret_nor_token() {
        use crate::graph::auth::ClientSecretSource;
        use crate::graph::auth::tests_support::*;
        use tracing_subscriber::filter::{LevelFilter, Targets};
        use tracing_subscriber::prelude::*;

        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(
                    Targets::new()
                        .with_default(LevelFilter::TRACE)
                        .with_target("graph_emulator", LevelFilter::OFF),
                ),
        );
        // With a single registered dispatcher, tracing computes a callsite's interest
        // from the registering thread's default only, so a callsite first hit by another
        // test's thread would stay disabled here; a second (idle) dispatcher makes it
        // consult every registered one.
        let _second = tracing::Dispatch::new(tracing_subscriber::registry());
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();

        let emu = Emu::start().await;
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let cache = TokenCache::new(Arc::new(source), Some(TENANT.into()));
        let token = cache.token().await.unwrap();

        // A certificate sign-in: neither its password, nor the signed assertion, nor
        // the token.
        let testdata =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/graph/auth/testdata");
        let pem = std::fs::read_to_string(testdata.join("cert-and-key.pem")).unwrap();
        let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap() + 27;
        let end = pem.find("-----END CERTIFICATE-----").unwrap();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(pem[start..end].split_whitespace().collect::<String>())
            .unwrap();
        emu.add_key_credential(&der).await;
        let password = "psoxy-test-password";
        let source = crate::graph::auth::CertificateSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            crate::graph::auth::CertificateOrigin::Path(testdata.join("aes.pfx")),
            Some(Secret::new(password)),
        )
        .unwrap();
        let cache = TokenCache::new(Arc::new(source), Some(TENANT.into()));
        let cert_token = cache.token().await.unwrap();
        emu.stop().await;

        let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("fetched a Microsoft Graph token"), "{logs}");
        assert!(
            logs.contains("requesting a Microsoft Graph token"),
            "{logs}"
        );
        assert!(logs.contains("a client certificate"), "{logs}");
        assert_no_leak(
            &[&logs],
            &[
                CI_SECRET,
                token.secret.expose(),
                cert_token.secret.expose(),
                password,
                "eyJ",
                "PRIVATE KEY",
            ],
        );
    }

    #[tokio::test]
    async fn debug_output_shows_no_token() {
        let fake = Fake::new(Duration::from_secs(3600));
        let cache = TokenCache::new(fake, Some(TENANT.into()));
        let token = cache.token().await.unwrap();
        for text in [format!("{cache:?}"), format!("{token:?}")] {
            assert!(!text.contains("tok-1"), "{text}");
        }
    }
}
