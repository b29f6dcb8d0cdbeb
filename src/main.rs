use api::cli::{Cli, run};
use clap::Parser;

/// About a third of a catalogue read's CPU was in the system allocator's malloc and free (many
/// small strings per row and per GraphQL value); mimalloc's thread-local free lists cost less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run(Cli::parse()).await
}
