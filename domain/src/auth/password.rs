//! Argon2id password hashing on a small pool of dedicated threads.
//!
//! Every argon2id computation fills `m_cost` KiB of memory (19 MiB with the default parameters). Run
//! on arbitrary blocking threads, each concurrent hash allocated its own block and the allocator kept
//! it afterwards: 25 concurrent failed sign-ins took the server from 32 MB to 563 MB. Here a fixed
//! number of workers each own one block, allocated on first use and reused for every hash, so the
//! memory is `workers × m_cost` however many sign-ins arrive. Callers queue for a free worker; one
//! that waited longer than the queue timeout gets `RATE_LIMITED` with `retryAfter`.
//!
//! The pool belongs to the process (its bound is on the process's memory): [`configure`] sets it up
//! once at start-up; servers started later in the same process share it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{ApiError, ApiResult};

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// How long a caller waits for a worker by default.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

static POOL: OnceLock<HashPool> = OnceLock::new();

/// Sets up the process's pool: `workers` threads (0: one per available core) and the queue timeout.
/// Only the first call has an effect.
pub fn configure(workers: usize, queue_timeout: Duration) {
    if POOL.get().is_none() && POOL.set(HashPool::new(workers, queue_timeout)).is_ok() {
        tracing::debug!(workers = pool().workers, ?queue_timeout, "password hashing pool ready");
    }
}

fn pool() -> &'static HashPool {
    POOL.get_or_init(|| HashPool::new(0, DEFAULT_QUEUE_TIMEOUT))
}

/// A new PHC string (`$argon2id$v=19$m=…`) for `password`.
pub async fn hash(password: String) -> ApiResult<String> {
    pool().hash(password).await
}

/// Verifies `password` against `stored`; with no stored hash (unknown account) it still does the same
/// work against a hash nobody knows, so the response time does not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    pool().verify(password, stored).await
}

pub fn validate(password: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_input(
            "password",
            format!("password must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_input(
            "password",
            format!("password must have at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// Work for a worker: it lends the job its memory block.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Threads that hash, each with its own reusable memory, and the queue in front of them.
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
    /// One permit per worker: holding one means a worker is free for you.
    permits: Arc<Semaphore>,
    workers: usize,
    queue_timeout: Duration,
}

impl HashPool {
    /// Starts `workers` threads (0: one per available core).
    pub fn new(workers: usize, queue_timeout: Duration) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            workers
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers {
            let queue = queue.clone();
            let started =
                std::thread::Builder::new().name(format!("password-hash-{i}")).spawn(move || work(&queue));
            if let Err(error) = started {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        Self { jobs, permits: Arc::new(Semaphore::new(workers)), workers, queue_timeout }
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let mut salt_bytes = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
            let params = Params::default();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(
                Algorithm::Argon2id,
                Version::V0x13,
                params.clone(),
                password.as_bytes(),
                salt_bytes,
                &mut out,
                memory,
            )?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(internal)?,
                salt: Some(salt.as_salt()),
                hash: Some(Output::new(&out).map_err(internal)?),
            };
            Ok(phc.to_string())
        })
        .await?
    }

    pub async fn verify(&self, password: String, stored: Option<String>) -> ApiResult<bool> {
        self.run(move |memory| {
            let Some(stored) = stored else {
                let salt: [u8; 16] = rand::random();
                let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
                compute(
                    Algorithm::Argon2id,
                    Version::V0x13,
                    Params::default(),
                    password.as_bytes(),
                    &salt,
                    &mut out,
                    memory,
                )?;
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored password hash is invalid: {e}")))?;
            let params = Params::try_from(&parsed).map_err(internal)?;
            let algorithm = Algorithm::try_from(parsed.algorithm).map_err(internal)?;
            let version =
                parsed.version.map(Version::try_from).transpose().map_err(internal)?.unwrap_or_default();
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "stored password hash has no salt or output"
                )));
            };
            let mut salt_bytes = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
            let mut out = vec![0u8; expected.len()];
            compute(algorithm, version, params, password.as_bytes(), salt_bytes, &mut out, memory)?;
            // `Output`'s equality is constant-time.
            Ok(Output::new(&out).map_err(internal)? == expected)
        })
        .await?
    }

    /// Runs `work` on a worker once one is free, waiting at most the queue timeout.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let permit =
            match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => {
                    return Err(ApiError::Internal(anyhow::anyhow!("the password hashing pool is closed")));
                }
                Err(_) => {
                    let secs = self.queue_timeout.as_secs().max(1);
                    return Err(ApiError::RateLimited {
                        message: format!("too many sign-ins at once; try again in {secs} s"),
                        retry_after_secs: secs,
                    });
                }
            };
        let (reply, answer) = oneshot::channel();
        // The permit goes with the job: the worker frees it when done, even if this caller has left.
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(work(memory));
            drop(permit);
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("the password hashing threads are gone")))?;
        answer.await.map_err(|_| ApiError::Internal(anyhow::anyhow!("a password hashing job was lost")))
    }
}

/// A worker: takes jobs until the pool is dropped. Its memory block lives as long as the thread.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory))).is_err() {
            tracing::error!("a password hashing job panicked");
        }
    }
}

/// Argon2 into `out` with `memory` (grown once if these parameters need more than it has).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> ApiResult<()> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("password hashing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() -> ApiResult<()> {
        let stored = hash("correct horse battery".into()).await?;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await?);
        assert!(!verify("wrong horse battery".into(), Some(stored)).await?);
        assert!(!verify("anything at all".into(), None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_of_the_stock_hasher_still_verify() -> ApiResult<()> {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let stored =
            Argon2::default().hash_password(b"altes passwort 1", &salt).map_err(internal)?.to_string();
        assert!(verify("altes passwort 1".into(), Some(stored.clone())).await?);
        assert!(!verify("altes passwort 2".into(), Some(stored)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_caller_that_waits_too_long_is_told_when_to_retry() -> ApiResult<()> {
        let pool = HashPool::new(1, Duration::from_millis(1));
        let busy = pool.permits.clone().acquire_owned().await.map_err(internal)?;
        let refused = pool.verify("egal egal egal".into(), None).await;
        assert!(matches!(refused, Err(ApiError::RateLimited { retry_after_secs: 1, .. })), "{refused:?}");
        drop(busy);
        assert!(!pool.verify("egal egal egal".into(), None).await?);
        Ok(())
    }

    #[test]
    fn length_bounds() {
        assert!(validate("short").is_err());
        assert!(validate("long enough!").is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
