//! `seal-corpus generate --out DIR [--pairs N] [--seed S] [--dpi D] [--kinds K,..]
//! [--only-clean]`: writes the labelled document-comparison corpus.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use seal_corpus::{Kind, Options};

#[derive(Parser)]
#[command(
    name = "seal-corpus",
    version,
    about = "Labelled corpus for the document-comparison benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate approved documents, captures and manifest.json into a directory.
    Generate {
        /// Output directory (created if needed).
        #[arg(long)]
        out: PathBuf,
        /// Number of pairs (approved page + capture).
        #[arg(long, default_value_t = 320)]
        pairs: usize,
        /// Seed: the same seed gives the same corpus.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Resolution of the approved pages (and of the boxes in the manifest).
        #[arg(long, default_value_t = 200)]
        dpi: u32,
        /// Only these kinds, comma-separated: genuine, amount_digit, date, name, clause,
        /// inserted_line, deleted_line, swapped_page, blank.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// No photo effects and no seal: captures are the clean (re)printed pages as PNG.
        #[arg(long)]
        only_clean: bool,
        /// No progress on stderr.
        #[arg(long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate {
            out,
            pairs,
            seed,
            dpi,
            kinds,
            only_clean,
            quiet,
        } => {
            let mut parsed = Vec::new();
            for name in &kinds {
                match Kind::parse(name) {
                    Some(k) => parsed.push(k),
                    None => {
                        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                        eprintln!(
                            "seal-corpus: unknown kind {name:?} (known: {})",
                            all.join(", ")
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            let options = Options {
                out,
                pairs,
                seed,
                dpi,
                kinds: parsed,
                only_clean,
                progress: !quiet,
            };
            match seal_corpus::generate(&options) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("seal-corpus: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
