//! The RFC 6962 / RFC 9162 Merkle tree of the tamper-evident log: hashing, the compact
//! `Frontier` an appender keeps, proof planning for a database-backed store, proof
//! verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 describe, and an in-memory tree.
//!
//! # Nodes
//!
//! Only *perfect* subtrees are ever stored. [`NodeId`] `{ level, index }` names the root of
//! the perfect subtree over leaves `[index << level, (index + 1) << level)`; level 0 holds the
//! leaf hashes. A tree of size `n` has one perfect subtree at `(l, i)` for every `l` and every
//! `i < n >> l`, and never changes them once written, so a store persists each node once, as
//! [`Frontier::append`] reports it.
//!
//! A proof may also need the hash of a *non-perfect* subtree on the right edge of the tree
//! (for example the leaves `[4, 7)` of a tree of size 7). Such a hash is not stored: it is
//! computed from the perfect subtrees that cover the range (`[4, 6)` and `[6, 7)`).
//!
//! # Serving proofs from a store
//!
//! 1. [`inclusion_plan`] / [`consistency_plan`] / [`root_nodes`] say which perfect nodes a
//!    proof or a past root needs ([`ProofPlan::nodes`]): fetch them in one query.
//! 2. [`ProofPlan::assemble`] (with a closure) or [`ProofPlan::assemble_from_map`] turns the
//!    fetched hashes into the proof, hashing the non-perfect right-edge subtree on the way;
//!    [`root_at`] does the same for the root of any past size.
//!
//! [`MemoryTree`] keeps every level in memory and serves its proofs through the same code.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

/// The length of every hash in the tree (SHA-256).
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node hash or a root.
pub type Hash = [u8; HASH_LEN];

/// The highest level a perfect subtree can have in a tree whose size fits in a `u64`.
pub const MAX_LEVEL: u8 = 63;

/// The domain-separation prefix of a leaf hash (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// The domain-separation prefix of an interior node hash (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;
/// The length of [`Frontier::to_bytes`]'s size prefix.
const SIZE_LEN: usize = 8;

/// Why a tree operation, a proof plan or a proof was refused. Every way a proof can fail to
/// verify has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// An inclusion proof was asked or offered for a leaf the tree does not have.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    OldSizeGreater { old: u64, new: u64 },
    /// A proof or a root was asked for a size the tree has not reached.
    #[error("tree size {size} is beyond the current size {tree_size}")]
    SizeBeyondTree { size: u64, tree_size: u64 },
    /// The proof has more hashes than the sizes allow (RFC 9162: `sn` reached 0 first).
    #[error("the proof has too many hashes")]
    ProofTooLong,
    /// The proof has fewer hashes than the sizes need (RFC 9162: `sn` is not 0 at the end).
    #[error("the proof has too few hashes")]
    ProofTooShort,
    /// A consistency proof between two different non-empty sizes must not be empty.
    #[error("the consistency proof is empty")]
    EmptyProof,
    /// Between equal sizes, or from the empty tree, the consistency proof must be empty.
    #[error("the consistency proof must be empty for these sizes")]
    ProofNotEmpty,
    /// The root computed from an inclusion proof is not the expected root.
    #[error("the inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The old root computed from a consistency proof is not the expected old root.
    #[error("the consistency proof does not lead to the expected old root")]
    OldRootMismatch,
    /// The new root computed from a consistency proof is not the expected new root.
    #[error("the consistency proof does not lead to the expected new root")]
    NewRootMismatch,
    /// Two trees of the same size have different roots.
    #[error("the two roots of trees of the same size differ")]
    RootsDiffer,
    /// A node a proof plan needs was not found in the store's answer.
    #[error("node {0} is missing")]
    MissingNode(NodeId),
    /// A hash that is not 32 bytes (the length found).
    #[error("a hash must be 32 bytes, not {0}")]
    HashLength(usize),
    /// A serialized frontier whose length does not fit its size.
    #[error("a frontier of size {size} takes {expected} bytes, not {actual}")]
    FrontierLength {
        size: u64,
        expected: usize,
        actual: usize,
    },
    /// A frontier built from parts whose hash count does not fit its size.
    #[error("a frontier of size {size} has {expected} hashes, not {actual}")]
    FrontierHashes {
        size: u64,
        expected: usize,
        actual: usize,
    },
    /// The tree has `u64::MAX` leaves and cannot grow.
    #[error("the tree is full")]
    TreeFull,
}

/// SHA-256(0x00 ‖ entry): the hash of a leaf (RFC 6962 §2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// SHA-256(0x01 ‖ left ‖ right): the hash of an interior node (RFC 6962 §2.1).
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 1 + 2 * HASH_LEN];
    block[0] = NODE_PREFIX;
    block[1..=HASH_LEN].copy_from_slice(left);
    block[1 + HASH_LEN..].copy_from_slice(right);
    Sha256::digest(block).into()
}

/// SHA-256 of the empty string: the root of the empty tree (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A hash from bytes that must be exactly 32 long (for hashes read off the wire).
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, MerkleError> {
    bytes
        .try_into()
        .map_err(|_| MerkleError::HashLength(bytes.len()))
}

/// The root of the perfect subtree over leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// 0 for a leaf, 1 for the parent of two leaves, and so on (at most [`MAX_LEVEL`]).
    pub level: u8,
    /// The position among the nodes of the same level, from 0 on the left.
    pub index: u64,
}

impl NodeId {
    /// The node `(level, index)`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf with this index (level 0).
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The first leaf the node covers, or `None` if that is not a `u64`.
    pub fn begin(&self) -> Option<u64> {
        if self.level > MAX_LEVEL {
            return None;
        }
        self.index.checked_mul(1u64 << self.level)
    }

    /// One past the last leaf the node covers, or `None` if that is not a `u64`.
    pub fn end(&self) -> Option<u64> {
        if self.level > MAX_LEVEL {
            return None;
        }
        self.index
            .checked_add(1)
            .and_then(|next| next.checked_mul(1u64 << self.level))
    }

    /// The node one level up that contains this one, or `None` above [`MAX_LEVEL`].
    pub fn parent(&self) -> Option<NodeId> {
        (self.level < MAX_LEVEL).then(|| NodeId::new(self.level + 1, self.index >> 1))
    }

    /// The other child of this node's parent.
    pub fn sibling(&self) -> NodeId {
        NodeId::new(self.level, self.index ^ 1)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.level, self.index)
    }
}

/// The perfect subtrees that make up the tree `[0, size)`, left to right: one per set bit of
/// `size`, the largest first. Their hashes, folded from the right, are the root.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::with_capacity(size.count_ones() as usize);
    push_range(&mut nodes, 0, size);
    nodes
}

/// Pushes the perfect subtrees covering `[begin, begin + width)`, left to right, where
/// `begin` is a multiple of the smallest power of two above `width` (or 0).
fn push_range(nodes: &mut Vec<NodeId>, begin: u64, width: u64) {
    let mut position = begin;
    let mut bits = width;
    while bits != 0 {
        let level = 63 - bits.leading_zeros();
        nodes.push(NodeId::new(level as u8, position >> level));
        let step = 1u64 << level;
        bits ^= step;
        // Every caller's range ends at a tree size, so `begin + width` fits in a `u64` and
        // this never wraps; `wrapping_add` only keeps the arithmetic free of panics.
        position = position.wrapping_add(step);
    }
}

/// The root of the tree of `size` leaves from its stored perfect nodes ([`root_nodes`]).
pub fn root_at<F>(size: u64, mut lookup: F) -> Result<Hash, MerkleError>
where
    F: FnMut(NodeId) -> Option<Hash>,
{
    if size == 0 {
        return Ok(empty_root());
    }
    let nodes = root_nodes(size);
    fold_right(&nodes, &mut lookup)
}

/// Folds the hashes of `nodes` (a non-empty left-to-right cover of one range) from the right:
/// `H(n0, H(n1, … H(n_{k-2}, n_{k-1})))`, the hash of the range.
fn fold_right<F>(nodes: &[NodeId], lookup: &mut F) -> Result<Hash, MerkleError>
where
    F: FnMut(NodeId) -> Option<Hash>,
{
    let Some((last, rest)) = nodes.split_last() else {
        return Ok(empty_root());
    };
    let mut acc = fetch(lookup, *last)?;
    for id in rest.iter().rev() {
        acc = node_hash(&fetch(lookup, *id)?, &acc);
    }
    Ok(acc)
}

fn fetch<F>(lookup: &mut F, id: NodeId) -> Result<Hash, MerkleError>
where
    F: FnMut(NodeId) -> Option<Hash>,
{
    lookup(id).ok_or(MerkleError::MissingNode(id))
}

/// Which stored perfect nodes a proof needs, and how to turn them into the proof.
///
/// Every node of [`nodes`](Self::nodes) is one hash of the proof, in order, except the nodes
/// in [`ephemeral`](Self::ephemeral): those cover a non-perfect subtree on the right edge of
/// the tree, left to right, and together give one hash of the proof (folded from the right).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    /// `[begin, end)` in `nodes`; `begin == end` when there is none.
    ephemeral: (usize, usize),
}

impl ProofPlan {
    /// The perfect nodes to fetch, each once, in proof order.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The run of [`nodes`](Self::nodes) that is hashed into one proof element, if any.
    pub fn ephemeral(&self) -> Option<std::ops::Range<usize>> {
        let (begin, end) = self.ephemeral;
        (begin < end).then_some(begin..end)
    }

    /// The number of hashes in the assembled proof.
    pub fn proof_len(&self) -> usize {
        let (begin, end) = self.ephemeral;
        if begin < end {
            self.nodes.len() - (end - begin) + 1
        } else {
            self.nodes.len()
        }
    }

    /// The proof from the hashes of [`nodes`](Self::nodes), found through `lookup`.
    pub fn assemble<F>(&self, mut lookup: F) -> Result<Vec<Hash>, MerkleError>
    where
        F: FnMut(NodeId) -> Option<Hash>,
    {
        let mut proof = Vec::with_capacity(self.proof_len());
        let (begin, end) = if self.ephemeral.0 < self.ephemeral.1 {
            self.ephemeral
        } else {
            (self.nodes.len(), self.nodes.len())
        };
        for id in &self.nodes[..begin] {
            proof.push(fetch(&mut lookup, *id)?);
        }
        if begin < end {
            proof.push(fold_right(&self.nodes[begin..end], &mut lookup)?);
        }
        for id in &self.nodes[end..] {
            proof.push(fetch(&mut lookup, *id)?);
        }
        Ok(proof)
    }

    /// [`assemble`](Self::assemble) from the rows a store returned, keyed by node.
    pub fn assemble_from_map(
        &self,
        hashes: &HashMap<NodeId, Hash>,
    ) -> Result<Vec<Hash>, MerkleError> {
        self.assemble(|id| hashes.get(&id).copied())
    }

    /// Adds the nodes of the inclusion proof of the perfect node `(level, index)` in the tree
    /// of `size` leaves (the node must lie inside the tree): the siblings on its path to the
    /// root, bottom-up (RFC 9162 §2.1.3.1, starting from an inner node).
    fn push_node_inclusion(&mut self, level: u32, index: u64, size: u64) {
        // The node at `level` that holds the last leaf. Below the highest bit where `index`
        // and `last` differ, the path has siblings on both sides; above it, the path runs
        // along the right edge of the tree and only has siblings to its left.
        let last = (size - 1) >> level;
        let split = 64 - (index ^ last).leading_zeros();
        for step in 0..split.saturating_sub(1) {
            self.nodes
                .push(NodeId::new((level + step) as u8, (index >> step) ^ 1));
        }
        if split > 0 {
            // The sibling just below the split holds the last leaf: perfect only when the
            // last leaf ends it, otherwise hashed from the perfect pieces of its range.
            let step = split - 1;
            let sibling = (index >> step) ^ 1;
            let node_level = level + step;
            let begin = sibling << node_level;
            let width = size - begin;
            if width == 1u64 << node_level {
                self.nodes.push(NodeId::new(node_level as u8, sibling));
            } else {
                let start = self.nodes.len();
                push_range(&mut self.nodes, begin, width);
                // A range of one perfect piece is that piece: nothing to hash.
                if self.nodes.len() - start > 1 {
                    self.ephemeral = (start, self.nodes.len());
                }
            }
        }
        let mut rest = index >> split;
        let mut node_level = level + split;
        while rest != 0 {
            if rest & 1 == 1 {
                self.nodes.push(NodeId::new(node_level as u8, rest ^ 1));
            }
            rest >>= 1;
            node_level += 1;
        }
    }
}

/// The nodes of the inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in the
/// tree of `size` leaves.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    let mut plan = ProofPlan::default();
    plan.push_node_inclusion(0, index, size);
    Ok(plan)
}

/// The nodes of the consistency proof (RFC 9162 §2.1.4.1) from the tree of `old_size` leaves
/// to the tree of `new_size` leaves. Empty when the sizes are equal or `old_size` is 0.
pub fn consistency_plan(old_size: u64, new_size: u64) -> Result<ProofPlan, MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeGreater {
            old: old_size,
            new: new_size,
        });
    }
    let mut plan = ProofPlan::default();
    if old_size == 0 || old_size == new_size {
        return Ok(plan);
    }
    // The largest perfect subtree that ends the old tree, then its inclusion proof in the
    // new tree. When the old tree is itself perfect that subtree is the old root, which the
    // verifier already has, so it is left out (RFC 9162 SUBPROOF with b = true).
    let level = old_size.trailing_zeros();
    let index = (old_size - 1) >> level;
    if index != 0 {
        plan.nodes.push(NodeId::new(level as u8, index));
    }
    plan.push_node_inclusion(level, index, new_size);
    Ok(plan)
}

/// The root that an inclusion proof leads to, by the algorithm of RFC 9162 §2.1.3.2.
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(MerkleError::ProofTooLong);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(MerkleError::ProofTooShort);
    }
    Ok(r)
}

/// Checks that `proof` proves the leaf hash `leaf` at `index` in the tree of `size` leaves
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if root_from_inclusion(leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

/// Checks that `proof` proves the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// The cases RFC 9162 leaves out are decided so: equal sizes need an empty proof and equal
/// roots; an old size of 0 needs an empty proof and the empty-tree root as the old root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeGreater {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::ProofNotEmpty);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(MerkleError::RootsDiffer)
        };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::ProofNotEmpty);
        }
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(MerkleError::OldRootMismatch)
        };
    }
    // 1. An empty path fails.
    let Some((head, tail)) = proof.split_first() else {
        return Err(MerkleError::EmptyProof);
    };
    // 2. When the old size is a power of two, the old root is the (implicit) first element.
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        (*head, tail)
    };
    // 3.-4.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5.
    let mut f_r = first;
    let mut s_r = first;
    // 6.
    for c in rest {
        if s_n == 0 {
            return Err(MerkleError::ProofTooLong);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7.
    if s_n != 0 {
        return Err(MerkleError::ProofTooShort);
    }
    if f_r != *old_root {
        return Err(MerkleError::OldRootMismatch);
    }
    if s_r != *new_root {
        return Err(MerkleError::NewRootMismatch);
    }
    Ok(())
}

/// The compact state of an append-only tree: the roots of its perfect subtrees, one per set
/// bit of its size, left to right (largest first). Enough to append and to compute the root;
/// [`to_bytes`](Self::to_bytes) is what an appender persists between restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frontier from its size and the hashes of [`root_nodes`]`(size)`, in that order.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::FrontierHashes {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The frontier of the tree of `size` leaves, from stored perfect nodes (to resume
    /// appending, or to get the compact state at a past size).
    pub fn from_lookup<F>(size: u64, mut lookup: F) -> Result<Self, MerkleError>
    where
        F: FnMut(NodeId) -> Option<Hash>,
    {
        let hashes = root_nodes(size)
            .into_iter()
            .map(|id| fetch(&mut lookup, id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, left to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The nodes whose hashes [`hashes`](Self::hashes) are.
    pub fn node_ids(&self) -> Vec<NodeId> {
        root_nodes(self.size)
    }

    /// The root of the tree (SHA-256 of nothing for the empty tree).
    pub fn root(&self) -> Hash {
        let Some((last, rest)) = self.hashes.split_last() else {
            return empty_root();
        };
        let mut acc = *last;
        for hash in rest.iter().rev() {
            acc = node_hash(hash, &acc);
        }
        acc
    }

    /// Appends a leaf hash and calls `completed` for the leaf (level 0) and then for every
    /// perfect subtree the append completed, bottom-up. Each node of the tree is reported
    /// exactly once over all appends. Allocates nothing once the frontier has grown.
    pub fn append_with<F>(&mut self, leaf: Hash, mut completed: F) -> Result<(), MerkleError>
    where
        F: FnMut(NodeId, &Hash),
    {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(MerkleError::TreeFull)?;
        let mut hash = leaf;
        completed(NodeId::leaf(index), &hash);
        let mut level = 0u8;
        let mut bits = index;
        while bits & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                // Unreachable: the frontier holds one hash per set bit of the size.
                return Err(MerkleError::FrontierHashes {
                    size: self.size,
                    expected: self.size.count_ones() as usize,
                    actual: 0,
                });
            };
            hash = node_hash(&left, &hash);
            level += 1;
            bits >>= 1;
            completed(NodeId::new(level, index >> level), &hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(())
    }

    /// Appends a leaf hash; returns the leaf (level 0) and every perfect subtree the append
    /// completed, bottom-up, so that a store persists each node once.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let mut nodes = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.append_with(leaf, |id, hash| nodes.push((id, *hash)))?;
        Ok(nodes)
    }

    /// The size as 8 big-endian bytes, then the hashes in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(SIZE_LEN + self.hashes.len() * HASH_LEN);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        for hash in &self.hashes {
            bytes.extend_from_slice(hash);
        }
        bytes
    }

    /// Reads [`to_bytes`](Self::to_bytes); the length must fit the size exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MerkleError> {
        let Some((size_bytes, rest)) = bytes.split_first_chunk::<SIZE_LEN>() else {
            return Err(MerkleError::FrontierLength {
                size: 0,
                expected: SIZE_LEN,
                actual: bytes.len(),
            });
        };
        let size = u64::from_be_bytes(*size_bytes);
        let count = size.count_ones() as usize;
        let expected = SIZE_LEN + count * HASH_LEN;
        if bytes.len() != expected {
            return Err(MerkleError::FrontierLength {
                size,
                expected,
                actual: bytes.len(),
            });
        }
        let (chunks, remainder) = rest.as_chunks::<HASH_LEN>();
        if !remainder.is_empty() {
            return Err(MerkleError::FrontierLength {
                size,
                expected,
                actual: bytes.len(),
            });
        }
        Ok(Self {
            size,
            hashes: chunks.to_vec(),
        })
    }
}

/// A tree that keeps every perfect node in memory (about 2 × 32 bytes per leaf), for tests,
/// benchmarks and tools. Proofs go through the same planning code as a store's.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    /// `levels[l][i]` is the hash of `NodeId { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The empty tree with room for `leaves` leaves without reallocating.
    pub fn with_capacity(leaves: usize) -> Self {
        let mut levels = Vec::new();
        let mut count = leaves;
        while count > 0 {
            levels.push(Vec::with_capacity(count));
            count >>= 1;
        }
        Self {
            frontier: Frontier::new(),
            levels,
        }
    }

    /// Appends a leaf hash.
    pub fn append(&mut self, leaf: Hash) -> Result<(), MerkleError> {
        let levels = &mut self.levels;
        self.frontier.append_with(leaf, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(*hash);
        })
    }

    /// Appends the leaf hash of `entry`.
    pub fn append_entry(&mut self, entry: &[u8]) -> Result<(), MerkleError> {
        self.append(leaf_hash(entry))
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The compact state at the current size.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The hash of a perfect node, if the tree has it.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }

    /// The root of the tree when it had `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        root_at(size, |id| self.node(id))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (any past size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        inclusion_plan(index, size)?.assemble(|id| self.node(id))
    }

    /// The consistency proof from the tree of `old_size` leaves to that of `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(new_size)?;
        consistency_plan(old_size, new_size)?.assemble(|id| self.node(id))
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.size() {
            return Err(MerkleError::SizeBeyondTree {
                size,
                tree_size: self.size(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    #[test]
    fn node_ids_know_their_range_parent_and_sibling() {
        let id = NodeId::new(2, 3);
        assert_eq!((id.begin(), id.end()), (Some(12), Some(16)));
        assert_eq!(id.parent(), Some(NodeId::new(3, 1)));
        assert_eq!(id.sibling(), NodeId::new(2, 2));
        assert_eq!(NodeId::leaf(5), NodeId::new(0, 5));
        assert_eq!(id.to_string(), "(2, 3)");
        assert_eq!(NodeId::new(63, 1).begin(), Some(1 << 63));
        assert_eq!(NodeId::new(63, 1).end(), None);
        assert_eq!(NodeId::new(64, 0).begin(), None);
        assert_eq!(NodeId::new(63, 0).parent(), None);
    }

    #[test]
    fn root_nodes_are_one_per_set_bit_left_to_right() {
        assert!(root_nodes(0).is_empty());
        assert_eq!(
            root_nodes(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(root_nodes(10), vec![NodeId::new(3, 0), NodeId::new(1, 4)]);
        let all = root_nodes(u64::MAX);
        assert_eq!(all.len(), 64);
        assert_eq!(all[0], NodeId::new(63, 0));
        assert_eq!(all[63], NodeId::new(0, u64::MAX - 1));
    }

    #[test]
    fn every_node_is_reported_exactly_once_by_append() {
        let mut frontier = Frontier::new();
        let mut seen = HashSet::new();
        for i in 0..300 {
            let nodes = frontier.append(leaf(i)).unwrap();
            assert_eq!(nodes[0], (NodeId::leaf(i), leaf(i)));
            for (id, _) in nodes {
                assert!(seen.insert(id), "{id} reported twice");
            }
        }
        let expected: HashSet<NodeId> = (0..=MAX_LEVEL)
            .flat_map(|level| (0..(300u64 >> level)).map(move |index| NodeId::new(level, index)))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn append_and_append_with_agree_and_root_matches_memory_tree() {
        let mut a = Frontier::new();
        let mut b = Frontier::new();
        let mut tree = MemoryTree::with_capacity(40);
        assert_eq!(a.root(), empty_root());
        for i in 0..40 {
            let mut reported = Vec::new();
            a.append_with(leaf(i), |id, hash| reported.push((id, *hash)))
                .unwrap();
            assert_eq!(b.append(leaf(i)).unwrap(), reported);
            tree.append(leaf(i)).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.root(), tree.root());
            assert_eq!(a.node_ids(), root_nodes(a.size()));
            let rebuilt = Frontier::from_lookup(a.size(), |id| tree.node(id)).unwrap();
            assert_eq!(rebuilt, a);
        }
    }

    #[test]
    fn frontier_bytes_round_trip_and_are_validated() {
        let mut frontier = Frontier::new();
        assert_eq!(
            Frontier::from_bytes(&frontier.to_bytes()),
            Ok(frontier.clone())
        );
        for i in 0..13 {
            frontier.append(leaf(i)).unwrap();
        }
        let bytes = frontier.to_bytes();
        assert_eq!(bytes.len(), 8 + 3 * 32);
        assert_eq!(&bytes[..8], &13u64.to_be_bytes());
        assert_eq!(Frontier::from_bytes(&bytes), Ok(frontier.clone()));
        assert_eq!(
            Frontier::from_bytes(&bytes[..bytes.len() - 1]),
            Err(MerkleError::FrontierLength {
                size: 13,
                expected: 104,
                actual: 103
            })
        );
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 32]);
        assert!(matches!(
            Frontier::from_bytes(&longer),
            Err(MerkleError::FrontierLength { .. })
        ));
        assert!(matches!(
            Frontier::from_bytes(&[0; 7]),
            Err(MerkleError::FrontierLength { .. })
        ));
        assert_eq!(
            Frontier::from_parts(13, vec![[0; 32]; 2]),
            Err(MerkleError::FrontierHashes {
                size: 13,
                expected: 3,
                actual: 2
            })
        );
        let parts = Frontier::from_parts(13, frontier.hashes().to_vec()).unwrap();
        assert_eq!(parts, frontier);
    }

    #[test]
    fn a_full_tree_refuses_to_grow() {
        let mut frontier = Frontier::from_parts(u64::MAX, vec![[7; 32]; 64]).unwrap();
        assert_eq!(frontier.append(leaf(0)), Err(MerkleError::TreeFull));
        assert_eq!(frontier.size(), u64::MAX);
    }

    #[test]
    fn hashes_from_the_wire_must_be_32_bytes() {
        assert_eq!(hash_from_slice(&[1; 32]), Ok([1; 32]));
        assert_eq!(hash_from_slice(&[]), Err(MerkleError::HashLength(0)));
        assert_eq!(hash_from_slice(&[1; 33]), Err(MerkleError::HashLength(33)));
    }

    #[test]
    fn plans_report_missing_nodes_and_bad_sizes() {
        let plan = inclusion_plan(3, 7).unwrap();
        assert_eq!(plan.proof_len(), 3);
        assert_eq!(
            plan.assemble(|_| None),
            Err(MerkleError::MissingNode(plan.nodes()[0]))
        );
        assert_eq!(
            inclusion_plan(7, 7),
            Err(MerkleError::IndexBeyondSize { index: 7, size: 7 })
        );
        assert_eq!(
            consistency_plan(8, 7),
            Err(MerkleError::OldSizeGreater { old: 8, new: 7 })
        );
        assert_eq!(consistency_plan(0, 7).unwrap().nodes(), &[]);
        assert_eq!(consistency_plan(7, 7).unwrap().nodes(), &[]);
        assert_eq!(root_at(0, |_| None), Ok(empty_root()));
        assert!(matches!(
            root_at(5, |_| None),
            Err(MerkleError::MissingNode(_))
        ));
    }

    #[test]
    fn memory_tree_refuses_sizes_it_has_not_reached() {
        let mut tree = MemoryTree::new();
        for i in 0u64..5 {
            tree.append_entry(&i.to_be_bytes()).unwrap();
        }
        let beyond = MerkleError::SizeBeyondTree {
            size: 6,
            tree_size: 5,
        };
        assert_eq!(tree.inclusion_proof(0, 6), Err(beyond.clone()));
        assert_eq!(tree.consistency_proof(1, 6), Err(beyond.clone()));
        assert_eq!(tree.root_at(6), Err(beyond));
        assert_eq!(tree.node(NodeId::new(0, 5)), None);
        assert_eq!(tree.node(NodeId::new(3, 0)), None);
        assert!(tree.node(NodeId::new(2, 0)).is_some());
        assert_eq!(tree.root_at(0), Ok(empty_root()));
        assert_eq!(tree.root_at(5), Ok(tree.root()));
    }

    #[test]
    fn the_ephemeral_run_folds_into_one_proof_hash() {
        // Tree of 7: the inclusion proof of leaf 0 is b, h and l = H(i, j).
        let plan = inclusion_plan(0, 7).unwrap();
        assert_eq!(
            plan.nodes(),
            &[
                NodeId::new(0, 1),
                NodeId::new(1, 1),
                NodeId::new(1, 2),
                NodeId::new(0, 6)
            ]
        );
        assert_eq!(plan.ephemeral(), Some(2..4));
        assert_eq!(plan.proof_len(), 3);
        let mut tree = MemoryTree::new();
        for i in 0..7 {
            tree.append(leaf(i)).unwrap();
        }
        let proof = plan.assemble(|id| tree.node(id)).unwrap();
        let i = tree.node(NodeId::new(1, 2)).unwrap();
        let j = tree.node(NodeId::new(0, 6)).unwrap();
        assert_eq!(proof[2], node_hash(&i, &j));
        let map: HashMap<NodeId, Hash> = plan
            .nodes()
            .iter()
            .map(|id| (*id, tree.node(*id).unwrap()))
            .collect();
        assert_eq!(plan.assemble_from_map(&map), Ok(proof));
    }
}
