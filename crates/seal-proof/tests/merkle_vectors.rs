//! The Merkle log against published known answers and a reference written from the RFC.
//!
//! Known answers (facts, re-typed here) from github.com/transparency-dev/merkle:
//! - `testonly/constants.go`: the 8 leaf inputs, the roots of every size 0..=8, the hash of
//!   every perfect subtree of the 8-leaf tree, and the compact ranges of every size;
//! - `proof/verify_test.go` (same data as `testdata/inclusion/*` and
//!   `testdata/consistency/*`): inclusion and consistency proofs, and the corruptions every
//!   verifier must reject;
//! - `proof/proof_test.go`: which nodes inclusion and consistency proofs are made of;
//! - `testonly/reference_test.go`: more inclusion and consistency proofs of the same tree;
//! - `rfc6962/rfc6962_test.go`: leaf hash vectors.
//!
//! Then every proof for every pair of sizes up to 64, and random ones up to 300 leaves
//! (proptest), equal the proofs of a naive recursive implementation of RFC 9162 §2.1.3.1
//! and §2.1.4.1 written in this file, and verify.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use proptest::prelude::*;
use seal_proof::merkle::{
    Frontier, Hash, MemoryTree, MerkleError, NodeId, consistency_plan, empty_root, hash_from_slice,
    inclusion_plan, leaf_hash, node_hash, root_at, verify_consistency, verify_inclusion,
};

/// A corrupted proof: what was changed, then the first size or index, the second size, two
/// hashes (root and leaf, or old and new root) and the proof.
type Probe = (String, u64, u64, Hash, Hash, Vec<Hash>);

/// A published plan: two sizes (or size and index), the nodes, and the non-perfect run.
type PlanCase = (u64, u64, Vec<(u8, u64)>, Option<std::ops::Range<usize>>);

fn h(hex: &str) -> Hash {
    let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
    hash_from_slice(&bytes).unwrap()
}

fn bytes(hex: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap()
}

/// `LeafInputs()`.
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|hex| bytes(hex))
    .collect()
}

/// `RootHashes()`: the root of every size 0..=8.
fn roots() -> Vec<Hash> {
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    .iter()
    .map(|hex| h(hex))
    .collect()
}

/// `NodeHashes()`: `[level][index]` of every perfect subtree of the 8-leaf tree.
fn node_hashes() -> Vec<Vec<Hash>> {
    vec![
        vec![
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        vec![
            h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        vec![
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        vec![h(
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        )],
    ]
}

/// `CompactTrees()`: the frontier of every size 0..=8, as `(level, index)` into `NodeHashes()`.
fn compact_trees() -> Vec<Vec<(usize, usize)>> {
    vec![
        vec![],
        vec![(0, 0)],
        vec![(1, 0)],
        vec![(1, 0), (0, 2)],
        vec![(2, 0)],
        vec![(2, 0), (0, 4)],
        vec![(2, 0), (1, 2)],
        vec![(2, 0), (1, 2), (0, 6)],
        vec![(3, 0)],
    ]
}

/// `inclusionProofs` of `proof/verify_test.go`: (1-based leaf, size, proof).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            3,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            2,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// `consistencyProofs` of `proof/verify_test.go`: (old size, new size, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// `sha256SomeHash` of `proof/verify_test.go`.
fn some_hash() -> Hash {
    h("abacaba000000000000000000000000000000000000000000060061e00123456")
}

fn golden_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for entry in leaf_inputs() {
        tree.append_entry(&entry).unwrap();
    }
    tree
}

/// A naive recursive Merkle tree written from the definitions of RFC 9162 §2.1.1 (MTH),
/// §2.1.3.1 (PATH) and §2.1.4.1 (PROOF, SUBPROOF), with subtree hashes memoised.
struct Reference {
    leaves: Vec<Hash>,
    memo: HashMap<(usize, usize), Hash>,
}

impl Reference {
    fn new(leaves: Vec<Hash>) -> Self {
        Self {
            leaves,
            memo: HashMap::new(),
        }
    }

    /// The largest power of two smaller than `n` (`n > 1`).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[lo:hi]).
    fn mth(&mut self, lo: usize, hi: usize) -> Hash {
        if let Some(hash) = self.memo.get(&(lo, hi)) {
            return *hash;
        }
        let hash = match hi - lo {
            0 => empty_root(),
            1 => self.leaves[lo],
            n => {
                let k = Self::split(n);
                let left = self.mth(lo, lo + k);
                let right = self.mth(lo + k, hi);
                node_hash(&left, &right)
            }
        };
        self.memo.insert((lo, hi), hash);
        hash
    }

    /// PATH(m, D[lo:hi]).
    fn path(&mut self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return Vec::new();
        }
        let k = Self::split(n);
        if m < k {
            let mut proof = self.path(m, lo, lo + k);
            proof.push(self.mth(lo + k, hi));
            proof
        } else {
            let mut proof = self.path(m - k, lo + k, hi);
            proof.push(self.mth(lo, lo + k));
            proof
        }
    }

    /// SUBPROOF(m, D[lo:hi], b).
    fn subproof(&mut self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(lo, hi)]
            };
        }
        let k = Self::split(n);
        if m <= k {
            let mut proof = self.subproof(m, lo, lo + k, b);
            proof.push(self.mth(lo + k, hi));
            proof
        } else {
            let mut proof = self.subproof(m - k, lo + k, hi, false);
            proof.push(self.mth(lo, lo + k));
            proof
        }
    }

    fn inclusion(&mut self, index: u64, size: u64) -> Vec<Hash> {
        self.path(index as usize, 0, size as usize)
    }

    /// PROOF(m, D[n]) for 0 < m < n; empty otherwise.
    fn consistency(&mut self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old == new {
            return Vec::new();
        }
        self.subproof(old as usize, 0, new as usize, true)
    }

    fn root(&mut self, size: u64) -> Hash {
        self.mth(0, size as usize)
    }
}

/// Checks every inclusion and consistency proof of `tree` (of `leaves`) for the given
/// queries against the reference, and that each verifies.
fn check_against_reference(
    tree: &MemoryTree,
    reference: &mut Reference,
    inclusions: &[(u64, u64)],
    consistencies: &[(u64, u64)],
) {
    for &(index, size) in inclusions {
        let proof = tree.inclusion_proof(index, size).unwrap();
        assert_eq!(
            proof,
            reference.inclusion(index, size),
            "inclusion {index} in {size}"
        );
        assert_eq!(
            inclusion_plan(index, size).unwrap().proof_len(),
            proof.len()
        );
        let root = reference.root(size);
        assert_eq!(tree.root_at(size), Ok(root));
        let leaf = reference.leaves[index as usize];
        assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
    }
    for &(old, new) in consistencies {
        let proof = tree.consistency_proof(old, new).unwrap();
        assert_eq!(
            proof,
            reference.consistency(old, new),
            "consistency {old} to {new}"
        );
        let (old_root, new_root) = (reference.root(old), reference.root(new));
        assert_eq!(
            verify_consistency(old, new, &proof, &old_root, &new_root),
            Ok(()),
            "consistency {old} to {new}"
        );
    }
}

#[test]
fn rfc6962_leaf_hashes() {
    // rfc6962_test.go: the empty leaf, and "L123456".
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(b"L123456"),
        h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_ne!(leaf_hash(b""), empty_root());
}

#[test]
fn roots_of_every_size_match_the_published_roots() {
    let roots = roots();
    let mut frontier = Frontier::new();
    let mut tree = MemoryTree::new();
    assert_eq!(frontier.root(), roots[0]);
    for (i, entry) in leaf_inputs().iter().enumerate() {
        frontier.append(leaf_hash(entry)).unwrap();
        tree.append_entry(entry).unwrap();
        assert_eq!(frontier.root(), roots[i + 1], "size {}", i + 1);
        assert_eq!(tree.root(), roots[i + 1]);
    }
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64), Ok(*root), "root_at({size})");
        assert_eq!(root_at(size as u64, |id| tree.node(id)), Ok(*root));
    }
}

#[test]
fn every_perfect_node_matches_the_published_node_hashes() {
    let tree = golden_tree();
    for (level, hashes) in node_hashes().iter().enumerate() {
        for (index, hash) in hashes.iter().enumerate() {
            assert_eq!(
                tree.node(NodeId::new(level as u8, index as u64)),
                Some(*hash),
                "node ({level}, {index})"
            );
        }
    }
}

#[test]
fn frontiers_of_every_size_match_the_published_compact_trees() {
    let nodes = node_hashes();
    let mut frontier = Frontier::new();
    let entries = leaf_inputs();
    for (size, compact) in compact_trees().iter().enumerate() {
        let expected: Vec<Hash> = compact.iter().map(|&(l, i)| nodes[l][i]).collect();
        assert_eq!(frontier.hashes(), expected.as_slice(), "size {size}");
        let ids: Vec<NodeId> = compact
            .iter()
            .map(|&(l, i)| NodeId::new(l as u8, i as u64))
            .collect();
        assert_eq!(frontier.node_ids(), ids);
        assert_eq!(
            Frontier::from_bytes(&frontier.to_bytes()),
            Ok(frontier.clone())
        );
        if let Some(entry) = entries.get(size) {
            frontier.append(leaf_hash(entry)).unwrap();
        }
    }
}

/// The corruptions of `corruptInclusionProof` in `proof/verify_test.go` that a typed proof
/// can express (a non-32-byte element cannot be built; see `hash_from_slice`).
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
    leaf: &Hash,
) -> Vec<Probe> {
    let mut probes = vec![
        (
            "index - 1".to_owned(),
            index.wrapping_sub(1),
            size,
            *root,
            *leaf,
            proof.to_vec(),
        ),
        (
            "index + 1".to_owned(),
            index + 1,
            size,
            *root,
            *leaf,
            proof.to_vec(),
        ),
        (
            "index ^ 2".to_owned(),
            index ^ 2,
            size,
            *root,
            *leaf,
            proof.to_vec(),
        ),
        (
            "size * 2".to_owned(),
            index,
            size * 2,
            *root,
            *leaf,
            proof.to_vec(),
        ),
        (
            "size / 2".to_owned(),
            index,
            size / 2,
            *root,
            *leaf,
            proof.to_vec(),
        ),
        (
            "wrong leaf".to_owned(),
            index,
            size,
            *root,
            leaf_hash(b"WrongLeaf"),
            proof.to_vec(),
        ),
        (
            "empty root".to_owned(),
            index,
            size,
            empty_root(),
            *leaf,
            proof.to_vec(),
        ),
        (
            "random root".to_owned(),
            index,
            size,
            some_hash(),
            *leaf,
            proof.to_vec(),
        ),
        (
            "trailing root".to_owned(),
            index,
            size,
            *root,
            *leaf,
            [proof, &[*root]].concat(),
        ),
        (
            "trailing zero hash".to_owned(),
            index,
            size,
            *root,
            *leaf,
            [proof, &[[0; 32]]].concat(),
        ),
        (
            "preceding root".to_owned(),
            index,
            size,
            *root,
            *leaf,
            [&[*root], proof].concat(),
        ),
        (
            "preceding zero hash".to_owned(),
            index,
            size,
            *root,
            *leaf,
            [&[[0; 32]], proof].concat(),
        ),
    ];
    for i in 0..proof.len() {
        for bit in 0..8 {
            let mut wrong = proof.to_vec();
            wrong[i][0] ^= 1 << bit;
            probes.push((
                format!("proof[{i}] bit {bit}"),
                index,
                size,
                *root,
                *leaf,
                wrong,
            ));
        }
        let mut wrong = proof.to_vec();
        wrong[i][31] ^= 0x80;
        probes.push((
            format!("proof[{i}] last bit"),
            index,
            size,
            *root,
            *leaf,
            wrong,
        ));
    }
    if !proof.is_empty() {
        probes.push((
            "removed component".to_owned(),
            index,
            size,
            *root,
            *leaf,
            proof[..proof.len() - 1].to_vec(),
        ));
        probes.push((
            "empty proof".to_owned(),
            index,
            size,
            *root,
            *leaf,
            Vec::new(),
        ));
    }
    if proof.len() > 1 {
        let mut inserted = vec![proof[0], some_hash()];
        inserted.extend_from_slice(&proof[1..]);
        probes.push((
            "inserted component".to_owned(),
            index,
            size,
            *root,
            *leaf,
            inserted,
        ));
        let mut swapped = proof.to_vec();
        swapped.swap(0, 1);
        probes.push((
            "swapped components".to_owned(),
            index,
            size,
            *root,
            *leaf,
            swapped,
        ));
    }
    probes
}

#[test]
fn published_inclusion_proofs_are_produced_verified_and_their_corruptions_rejected() {
    let tree = golden_tree();
    let roots = roots();
    let entries = leaf_inputs();
    for (leaf_number, size, proof) in inclusion_vectors() {
        let index = leaf_number - 1;
        let root = roots[size as usize];
        let leaf = leaf_hash(&entries[index as usize]);
        assert_eq!(tree.inclusion_proof(index, size), Ok(proof.clone()));
        assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        for (what, index, size, root, leaf, proof) in
            corrupt_inclusion(index, size, &proof, &root, &leaf)
        {
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root).is_err(),
                "accepted {what} for leaf {leaf_number} of {size}"
            );
        }
    }
}

#[test]
fn inclusion_failures_have_distinct_errors() {
    let tree = golden_tree();
    let roots = roots();
    let leaf = leaf_hash(&leaf_inputs()[1]);
    let proof = tree.inclusion_proof(1, 8).unwrap();
    let root = roots[8];
    assert_eq!(
        verify_inclusion(&leaf, 8, 8, &proof, &root),
        Err(MerkleError::IndexBeyondSize { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(&leaf, 0, 0, &[], &empty_root()),
        Err(MerkleError::IndexBeyondSize { index: 0, size: 0 })
    );
    assert_eq!(
        verify_inclusion(&leaf, 1, 8, &[proof.as_slice(), &[root]].concat(), &root),
        Err(MerkleError::ProofTooLong)
    );
    assert_eq!(
        verify_inclusion(&leaf, 1, 8, &proof[..2], &root),
        Err(MerkleError::ProofTooShort)
    );
    assert_eq!(
        verify_inclusion(&leaf, 1, 8, &[], &root),
        Err(MerkleError::ProofTooShort)
    );
    assert_eq!(
        verify_inclusion(&leaf, 1, 8, &proof, &roots[7]),
        Err(MerkleError::RootMismatch)
    );
    // TestVerifyInclusionSingleEntry: in a one-leaf tree the leaf is the root.
    let single = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&single, 0, 1, &[], &single), Ok(()));
    assert_eq!(
        verify_inclusion(&single, 0, 1, &[], &empty_root()),
        Err(MerkleError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&single, 0, 1, &[single], &single),
        Err(MerkleError::ProofTooLong)
    );
    // TestVerifyInclusion: an empty proof proves nothing for (0,0), (1,0), (2,1), and only a
    // one-leaf tree whose root is the leaf for (0,1).
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert!(matches!(
            verify_inclusion(&some_hash(), index, size, &[], &empty_root()),
            Err(MerkleError::IndexBeyondSize { .. })
        ));
    }
    assert_eq!(
        verify_inclusion(&some_hash(), 0, 1, &[], &empty_root()),
        Err(MerkleError::RootMismatch)
    );
}

/// The corruptions of `corruptConsistencyProof` in `proof/verify_test.go`.
fn corrupt_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Vec<Probe> {
    let wrong_root = leaf_hash(b"WrongRoot");
    let mut probes = vec![
        (
            "old - 1".to_owned(),
            old - 1,
            new,
            *old_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "old + 1".to_owned(),
            old + 1,
            new,
            *old_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "old ^ 2".to_owned(),
            old ^ 2,
            new,
            *old_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "new * 2".to_owned(),
            old,
            new * 2,
            *old_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "new / 2".to_owned(),
            old,
            new / 2,
            *old_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "wrong old root".to_owned(),
            old,
            new,
            wrong_root,
            *new_root,
            proof.to_vec(),
        ),
        (
            "wrong new root".to_owned(),
            old,
            new,
            *old_root,
            wrong_root,
            proof.to_vec(),
        ),
        (
            "swapped roots".to_owned(),
            old,
            new,
            *new_root,
            *old_root,
            proof.to_vec(),
        ),
        (
            "empty proof".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            Vec::new(),
        ),
        (
            "trailing zero hash".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [proof, &[[0; 32]]].concat(),
        ),
        (
            "trailing old root".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [proof, &[*old_root]].concat(),
        ),
        (
            "trailing new root".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [proof, &[*new_root]].concat(),
        ),
        (
            "preceding zero hash".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [&[[0; 32]], proof].concat(),
        ),
        (
            "preceding old root".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [&[*old_root], proof].concat(),
        ),
        (
            "preceding new root".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [&[*new_root], proof].concat(),
        ),
        (
            "preceding proof[0]".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            [&[proof[0]], proof].concat(),
        ),
        (
            "truncated proof".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            proof[..proof.len() - 1].to_vec(),
        ),
    ];
    for i in 0..proof.len() {
        for bit in 0..8 {
            let mut wrong = proof.to_vec();
            wrong[i][0] ^= 1 << bit;
            probes.push((
                format!("proof[{i}] bit {bit}"),
                old,
                new,
                *old_root,
                *new_root,
                wrong,
            ));
        }
    }
    if proof.len() > 1 {
        let mut swapped = proof.to_vec();
        swapped.swap(0, 1);
        probes.push((
            "swapped components".to_owned(),
            old,
            new,
            *old_root,
            *new_root,
            swapped,
        ));
    }
    probes
}

#[test]
fn published_consistency_proofs_are_produced_verified_and_their_corruptions_rejected() {
    let tree = golden_tree();
    let roots = roots();
    for (old, new, proof) in consistency_vectors() {
        let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
        assert_eq!(tree.consistency_proof(old, new), Ok(proof.clone()));
        assert_eq!(
            verify_consistency(old, new, &proof, &old_root, &new_root),
            Ok(())
        );
        if proof.is_empty() {
            continue;
        }
        for (what, old, new, old_root, new_root, proof) in
            corrupt_consistency(old, new, &proof, &old_root, &new_root)
        {
            assert!(
                verify_consistency(old, new, &proof, &old_root, &new_root).is_err(),
                "accepted {what}"
            );
        }
    }
}

#[test]
fn consistency_failures_have_distinct_errors() {
    let roots = roots();
    let tree = golden_tree();
    let proof = tree.consistency_proof(6, 8).unwrap();
    let (r6, r7, r8) = (roots[6], roots[7], roots[8]);
    assert_eq!(
        verify_consistency(8, 6, &proof, &r8, &r6),
        Err(MerkleError::OldSizeGreater { old: 8, new: 6 })
    );
    assert_eq!(
        verify_consistency(6, 8, &[], &r6, &r8),
        Err(MerkleError::EmptyProof)
    );
    assert_eq!(
        verify_consistency(6, 8, &[proof.as_slice(), &[r8]].concat(), &r6, &r8),
        Err(MerkleError::ProofTooLong)
    );
    assert_eq!(
        verify_consistency(6, 8, &proof[..2], &r6, &r8),
        Err(MerkleError::ProofTooShort)
    );
    assert_eq!(
        verify_consistency(6, 8, &proof, &r7, &r8),
        Err(MerkleError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(6, 8, &proof, &r6, &r7),
        Err(MerkleError::NewRootMismatch)
    );
    // TestVerifyConsistency's trivial cases: equal sizes need equal roots and no proof; the
    // empty tree is consistent with anything, with no proof (and its root must be the
    // empty-tree hash here, which Go does not check).
    assert_eq!(
        verify_consistency(0, 0, &[], &empty_root(), &empty_root()),
        Ok(())
    );
    assert_eq!(verify_consistency(1, 1, &[], &roots[1], &roots[1]), Ok(()));
    assert_eq!(
        verify_consistency(1, 1, &[], &roots[1], &roots[2]),
        Err(MerkleError::RootsDiffer)
    );
    assert_eq!(
        verify_consistency(0, 0, &[], &empty_root(), &roots[1]),
        Err(MerkleError::RootsDiffer)
    );
    assert_eq!(
        verify_consistency(0, 1, &[], &empty_root(), &roots[1]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(0, 1, &[], &roots[1], &roots[1]),
        Err(MerkleError::OldRootMismatch)
    );
    for (old, new) in [(0, 0), (0, 1), (1, 1)] {
        assert_eq!(
            verify_consistency(old, new, &[empty_root()], &empty_root(), &empty_root()),
            Err(MerkleError::ProofNotEmpty)
        );
    }
    // Time travel to the past.
    assert!(matches!(
        verify_consistency(1, 0, &[], &roots[1], &roots[0]),
        Err(MerkleError::OldSizeGreater { .. })
    ));
    assert!(matches!(
        verify_consistency(2, 1, &[], &roots[2], &roots[1]),
        Err(MerkleError::OldSizeGreater { .. })
    ));
    // One leaf to two, with no proof.
    assert_eq!(
        verify_consistency(1, 2, &[], &roots[1], &roots[2]),
        Err(MerkleError::EmptyProof)
    );
}

#[test]
fn every_proof_of_the_golden_tree_matches_the_reference_and_the_node_hashes() {
    let tree = golden_tree();
    let nodes = node_hashes();
    let mut reference = Reference::new(leaf_inputs().iter().map(|e| leaf_hash(e)).collect());
    let inclusions: Vec<(u64, u64)> = (1..=8).flat_map(|n| (0..n).map(move |i| (i, n))).collect();
    let consistencies: Vec<(u64, u64)> =
        (0..=8).flat_map(|n| (0..=n).map(move |m| (m, n))).collect();
    check_against_reference(&tree, &mut reference, &inclusions, &consistencies);
    // Every perfect node a plan asks for is one of the published node hashes.
    let published = |id: NodeId| Some(nodes[id.level as usize][id.index as usize]);
    for &(index, size) in &inclusions {
        let proof = inclusion_plan(index, size)
            .unwrap()
            .assemble(published)
            .unwrap();
        assert_eq!(proof, reference.inclusion(index, size));
    }
    for &(old, new) in &consistencies {
        let proof = consistency_plan(old, new)
            .unwrap()
            .assemble(published)
            .unwrap();
        assert_eq!(proof, reference.consistency(old, new));
    }
}

#[test]
fn reference_proofs_of_testonly_are_produced_and_verify() {
    // testonly/reference_test.go TestRefInclusionProof: (index, size, proof).
    let inclusions = [
        (0u64, 1u64, vec![]),
        (
            0,
            2,
            vec![h(
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            )],
        ),
        (
            1,
            2,
            vec![h(
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            )],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ];
    // TestRefConsistencyProof: (old, new, proof).
    let consistencies = [
        (1u64, 1u64, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ];
    let tree = golden_tree();
    let roots = roots();
    let entries = leaf_inputs();
    let mut reference = Reference::new(entries.iter().map(|e| leaf_hash(e)).collect());
    for (index, size, proof) in inclusions {
        assert_eq!(
            tree.inclusion_proof(index, size),
            Ok(proof.clone()),
            "{index} in {size}"
        );
        assert_eq!(reference.inclusion(index, size), proof);
        let leaf = leaf_hash(&entries[index as usize]);
        assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &roots[size as usize]),
            Ok(())
        );
    }
    for (old, new, proof) in consistencies {
        assert_eq!(
            tree.consistency_proof(old, new),
            Ok(proof.clone()),
            "{old} to {new}"
        );
        assert_eq!(reference.consistency(old, new), proof);
        assert_eq!(
            verify_consistency(old, new, &proof, &roots[old as usize], &roots[new as usize]),
            Ok(())
        );
    }
    // TestDownToPowerOfTwo, for the reference's split.
    for (n, k) in [(2, 1), (7, 4), (8, 4), (63, 32), (28937, 16384)] {
        assert_eq!(Reference::split(n), k, "{n}");
    }
}

fn ids(nodes: &[(u8, u64)]) -> Vec<NodeId> {
    nodes.iter().map(|&(l, i)| NodeId::new(l, i)).collect()
}

#[test]
fn inclusion_plans_match_the_published_node_lists() {
    // proof/proof_test.go TestInclusion. The nodes of a non-perfect subtree are listed here
    // left to right (Go lists them right to left).
    let cases: Vec<PlanCase> = vec![
        (1, 0, vec![], None),
        (2, 0, vec![(0, 1)], None),
        (2, 1, vec![(0, 0)], None),
        (3, 1, vec![(0, 0), (0, 2)], None),
        (7, 0, vec![(0, 1), (1, 1), (1, 2), (0, 6)], Some(2..4)),
        (7, 1, vec![(0, 0), (1, 1), (1, 2), (0, 6)], Some(2..4)),
        (7, 2, vec![(0, 3), (1, 0), (1, 2), (0, 6)], Some(2..4)),
        (7, 3, vec![(0, 2), (1, 0), (1, 2), (0, 6)], Some(2..4)),
        (7, 4, vec![(0, 5), (0, 6), (2, 0)], None),
        (7, 5, vec![(0, 4), (0, 6), (2, 0)], None),
        (7, 6, vec![(1, 2), (2, 0)], None),
        (4, 2, vec![(0, 3), (1, 0)], None),
        (5, 3, vec![(0, 2), (1, 0), (0, 4)], None),
        (6, 3, vec![(0, 2), (1, 0), (1, 2)], None),
        (6, 4, vec![(0, 5), (2, 0)], None),
        (
            15,
            10,
            vec![(0, 11), (1, 4), (1, 6), (0, 14), (3, 0)],
            Some(2..4),
        ),
        (
            31,
            24,
            vec![(0, 25), (1, 13), (1, 14), (0, 30), (3, 2), (4, 0)],
            Some(2..4),
        ),
        (
            95,
            81,
            vec![
                (0, 80),
                (1, 41),
                (2, 21),
                (2, 22),
                (1, 46),
                (0, 94),
                (4, 4),
                (6, 0),
            ],
            Some(3..6),
        ),
    ];
    for (size, index, nodes, ephemeral) in cases {
        let plan = inclusion_plan(index, size).unwrap();
        assert_eq!(plan.nodes(), ids(&nodes).as_slice(), "{index} in {size}");
        assert_eq!(plan.ephemeral(), ephemeral, "{index} in {size}");
    }
    for (size, index) in [(0, 0), (0, 1), (1, 2), (0, 3), (7, 8)] {
        assert!(matches!(
            inclusion_plan(index, size),
            Err(MerkleError::IndexBeyondSize { .. })
        ));
    }
}

#[test]
fn consistency_plans_match_the_published_node_lists() {
    // proof/proof_test.go TestConsistency, non-perfect runs left to right.
    let cases: Vec<PlanCase> = vec![
        (1, 2, vec![(0, 1)], None),
        (1, 4, vec![(0, 1), (1, 1)], None),
        (1, 6, vec![(0, 1), (1, 1), (1, 2)], None),
        (2, 3, vec![(0, 2)], None),
        (2, 8, vec![(1, 1), (2, 1)], None),
        (
            3,
            7,
            vec![(0, 2), (0, 3), (1, 0), (1, 2), (0, 6)],
            Some(3..5),
        ),
        (4, 7, vec![(1, 2), (0, 6)], Some(0..2)),
        (5, 7, vec![(0, 4), (0, 5), (0, 6), (2, 0)], None),
        (6, 7, vec![(1, 2), (0, 6), (2, 0)], None),
        (7, 8, vec![(0, 6), (0, 7), (1, 2), (2, 0)], None),
        (2, 4, vec![(1, 1)], None),
        (3, 5, vec![(0, 2), (0, 3), (1, 0), (0, 4)], None),
        (3, 6, vec![(0, 2), (0, 3), (1, 0), (1, 2)], None),
        (4, 6, vec![(1, 2)], None),
        (1, 7, vec![(0, 1), (1, 1), (1, 2), (0, 6)], Some(2..4)),
        (
            10,
            15,
            vec![(1, 4), (1, 5), (1, 6), (0, 14), (3, 0)],
            Some(2..4),
        ),
        (
            24,
            31,
            vec![(3, 2), (2, 6), (1, 14), (0, 30), (4, 0)],
            Some(1..4),
        ),
        (
            81,
            95,
            vec![
                (0, 80),
                (0, 81),
                (1, 41),
                (2, 21),
                (2, 22),
                (1, 46),
                (0, 94),
                (4, 4),
                (6, 0),
            ],
            Some(4..7),
        ),
    ];
    for (old, new, nodes, ephemeral) in cases {
        let plan = consistency_plan(old, new).unwrap();
        assert_eq!(plan.nodes(), ids(&nodes).as_slice(), "{old} to {new}");
        assert_eq!(plan.ephemeral(), ephemeral, "{old} to {new}");
    }
    for size in [1, 2, 3, 4, 5, 7, 8] {
        assert!(consistency_plan(size, size).unwrap().nodes().is_empty());
    }
    for (old, new) in [(5, 0), (9, 8)] {
        assert!(matches!(
            consistency_plan(old, new),
            Err(MerkleError::OldSizeGreater { .. })
        ));
    }
}

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.append(*leaf).unwrap();
    }
    tree
}

fn leaves(seed: u64, count: u64) -> Vec<Hash> {
    (0..count)
        .map(|i| leaf_hash(&[seed.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect()
}

#[test]
fn all_proofs_of_all_trees_up_to_64_leaves_match_the_reference() {
    let all = leaves(7, 64);
    let tree = tree_of(&all);
    let mut reference = Reference::new(all);
    let inclusions: Vec<(u64, u64)> = (1..=64).flat_map(|n| (0..n).map(move |i| (i, n))).collect();
    let consistencies: Vec<(u64, u64)> = (0..=64)
        .flat_map(|n| (0..=n).map(move |m| (m, n)))
        .collect();
    check_against_reference(&tree, &mut reference, &inclusions, &consistencies);
}

#[test]
fn a_proof_for_one_size_does_not_verify_for_another() {
    let all = leaves(9, 40);
    let tree = tree_of(&all);
    // The size only shapes the path (leaf 0's proof in 3 leaves has the shape of its proof
    // in 4), so what must fail is the proof against another size's root.
    for size in 1..=40u64 {
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            for other in (index + 1)..=40 {
                if other != size {
                    let root = tree.root_at(other).unwrap();
                    assert!(
                        verify_inclusion(&all[index as usize], index, other, &proof, &root)
                            .is_err(),
                        "leaf {index}: proof for {size} accepted for {other}"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_trees_up_to_300_leaves_give_proofs_equal_to_the_reference(
        (size, seed, indexes, pairs) in (1u64..=300).prop_flat_map(|n| (
            Just(n),
            any::<u64>(),
            prop::collection::vec((0..n, 1..=n), 24),
            prop::collection::vec((0..=n, 0..=n), 24),
        ))
    ) {
        let all = leaves(seed, size);
        let tree = tree_of(&all);
        let mut reference = Reference::new(all);
        prop_assert_eq!(tree.root(), reference.root(size));
        let inclusions: Vec<(u64, u64)> = indexes
            .into_iter()
            .map(|(i, n)| (i.min(n - 1), n))
            .collect();
        let consistencies: Vec<(u64, u64)> = pairs
            .into_iter()
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        check_against_reference(&tree, &mut reference, &inclusions, &consistencies);
        // The frontier of any past size, rebuilt from stored nodes, has that size's root.
        for &(_, n) in &inclusions {
            let frontier = Frontier::from_lookup(n, |id| tree.node(id)).unwrap();
            prop_assert_eq!(frontier.root(), reference.root(n));
        }
    }
}
