//! Benchmark of the Merkle log: appends per second through `Frontier`, and inclusion-proof
//! times (mean, p50, p99, max) with `MemoryTree` at 1 million and 10 million leaves, each
//! next to the time of one SHA-256 of 64 bytes measured in the same run.
//!
//! Run in release: `cargo run --release -p seal-proof --example bench_merkle`. Optional
//! argument: the largest tree size (default 10000000). The 10-million-leaf tree takes about
//! 640 MB.

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use seal_proof::merkle::{Frontier, Hash, MemoryTree, leaf_hash, verify_inclusion};
use sha2::{Digest as _, Sha256};

/// The number of random leaves whose inclusion proof is timed per tree size.
const PROOFS: usize = 10_000;

fn main() -> Result<(), Box<dyn Error>> {
    let largest: u64 = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 10_000_000,
    };

    let sha = sha256_64_bytes();
    println!(
        "baseline: one SHA-256 of 64 bytes takes {:.1} ns",
        sha.as_secs_f64() * 1e9
    );

    let leaves = largest.min(10_000_000);
    let (with_hash, append_only) = frontier_appends(leaves)?;
    println!(
        "Frontier::append_with over {leaves} leaves: {:.0} appends/s including the leaf hash, {:.0} appends/s without it (= {:.2} × SHA-256 per append)",
        with_hash,
        append_only,
        1.0 / (append_only * sha.as_secs_f64())
    );
    let vec_appends = frontier_appends_vec(leaves.min(2_000_000))?;
    println!(
        "Frontier::append (returns the completed nodes) over {} leaves: {:.0} appends/s",
        leaves.min(2_000_000),
        vec_appends
    );

    for size in [1_000_000u64, 10_000_000] {
        if size > largest {
            continue;
        }
        let (tree, build) = build_tree(size)?;
        println!(
            "MemoryTree of {size} leaves built in {:.2} s ({:.0} appends/s)",
            build.as_secs_f64(),
            size as f64 / build.as_secs_f64()
        );
        let stats = inclusion_proofs(&tree, size)?;
        let sha_ns = sha.as_secs_f64() * 1e9;
        println!(
            "  inclusion proof at {size} leaves over {PROOFS} random indexes: mean {:.2} µs, p50 {:.2} µs, p99 {:.2} µs, max {:.2} µs (mean = {:.0} × SHA-256)",
            stats.mean * 1e6,
            stats.p50 * 1e6,
            stats.p99 * 1e6,
            stats.max * 1e6,
            stats.mean * 1e9 / sha_ns
        );
        let verify = verify_times(&tree, size)?;
        println!(
            "  verify_inclusion at {size} leaves: mean {:.2} µs ({:.0} × SHA-256)",
            verify * 1e6,
            verify * 1e9 / sha_ns
        );
        drop(tree);
    }
    Ok(())
}

/// The mean time of one SHA-256 of 64 bytes.
fn sha256_64_bytes() -> Duration {
    const ROUNDS: u32 = 2_000_000;
    let mut block = [0u8; 64];
    let start = Instant::now();
    for i in 0..ROUNDS {
        block[0] = i as u8;
        let digest = Sha256::digest(black_box(&block));
        block[1] ^= digest[0];
    }
    black_box(&block);
    start.elapsed() / ROUNDS
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_le_bytes())
}

/// Appends per second through `append_with`, with the leaf hash computed in the loop, and
/// with a cheap stand-in for the leaf hash (so only the append's own hashing counts).
fn frontier_appends(leaves: u64) -> Result<(f64, f64), Box<dyn Error>> {
    let mut frontier = Frontier::new();
    let start = Instant::now();
    let mut completed = 0u64;
    for i in 0..leaves {
        frontier.append_with(leaf(i), |_, _| completed += 1)?;
    }
    let with_hash = leaves as f64 / start.elapsed().as_secs_f64();
    black_box(frontier.root());
    black_box(completed);

    let mut frontier = Frontier::new();
    let start = Instant::now();
    for i in 0..leaves {
        let mut stand_in = [0u8; 32];
        stand_in[..8].copy_from_slice(&i.to_le_bytes());
        frontier.append_with(stand_in, |_, _| {})?;
    }
    let append_only = leaves as f64 / start.elapsed().as_secs_f64();
    black_box(frontier.root());
    Ok((with_hash, append_only))
}

/// Appends per second through `append`, which returns the completed nodes in a `Vec`.
fn frontier_appends_vec(leaves: u64) -> Result<f64, Box<dyn Error>> {
    let mut frontier = Frontier::new();
    let start = Instant::now();
    let mut nodes = 0usize;
    for i in 0..leaves {
        nodes += frontier.append(leaf(i))?.len();
    }
    let rate = leaves as f64 / start.elapsed().as_secs_f64();
    black_box(nodes);
    Ok(rate)
}

fn build_tree(size: u64) -> Result<(MemoryTree, Duration), Box<dyn Error>> {
    let mut tree = MemoryTree::with_capacity(usize::try_from(size)?);
    let start = Instant::now();
    for i in 0..size {
        tree.append(leaf(i))?;
    }
    Ok((tree, start.elapsed()))
}

struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// Times `PROOFS` inclusion proofs of random leaves in the tree of `size` leaves, and checks
/// each one (outside the timing).
fn inclusion_proofs(tree: &MemoryTree, size: u64) -> Result<Stats, Box<dyn Error>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(size);
    let root = tree.root();
    let mut times = Vec::with_capacity(PROOFS);
    for _ in 0..PROOFS {
        let index = rng.random_range(0..size);
        let start = Instant::now();
        let proof = tree.inclusion_proof(index, size)?;
        times.push(start.elapsed().as_secs_f64());
        verify_inclusion(&leaf(index), index, size, &proof, &root)?;
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    Ok(Stats {
        mean,
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        max: times[times.len() - 1],
    })
}

/// The mean time of `verify_inclusion` at this size.
fn verify_times(tree: &MemoryTree, size: u64) -> Result<f64, Box<dyn Error>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(size ^ 1);
    let root = tree.root();
    let mut cases = Vec::with_capacity(PROOFS);
    for _ in 0..PROOFS {
        let index = rng.random_range(0..size);
        cases.push((index, leaf(index), tree.inclusion_proof(index, size)?));
    }
    let start = Instant::now();
    for (index, leaf, proof) in &cases {
        verify_inclusion(leaf, *index, size, proof, &root)?;
    }
    Ok(start.elapsed().as_secs_f64() / cases.len() as f64)
}
