//! The live sessions of a shard: an open-addressing table whose buckets
//! hold the id and the record together, one cache line each. A lookup reads
//! a group of control bytes and then one bucket: two cache misses at worst
//! on a table much larger than the caches, where an index map (a table of
//! indexes into a vector of entries) takes three.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::id::SessionId;
use crate::model::Record;

/// A bucket: 16 bytes of id, 40 of record and the deadline of the
/// session's one valid entry in the shard's expiry queue, aligned to a
/// cache line.
#[repr(align(64))]
pub(crate) struct Slot {
    pub id: SessionId,
    pub record: Record,
    pub scheduled: i64,
}

pub(crate) struct Table {
    slots: HashTable<Slot>,
    hasher: RandomState,
}

impl Table {
    pub fn new(hasher: RandomState) -> Self {
        Table {
            slots: HashTable::new(),
            hasher,
        }
    }

    fn hash(&self, id: SessionId) -> u64 {
        self.hasher.hash_one(id.as_u128())
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn get(&self, id: SessionId) -> Option<&Slot> {
        self.slots.find(self.hash(id), |s| s.id == id)
    }

    pub fn get_mut(&mut self, id: SessionId) -> Option<&mut Slot> {
        let hash = self.hash(id);
        self.slots.find_mut(hash, |s| s.id == id)
    }

    /// Adds or replaces the record of `id`, due to be looked at by
    /// `scheduled`.
    pub fn insert(&mut self, id: SessionId, record: Record, scheduled: i64) {
        let hash = self.hash(id);
        let hasher = &self.hasher;
        match self
            .slots
            .entry(hash, |s| s.id == id, |s| hasher.hash_one(s.id.as_u128()))
        {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                *slot.get_mut() = Slot {
                    id,
                    record,
                    scheduled,
                };
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(Slot {
                    id,
                    record,
                    scheduled,
                });
            }
        }
    }

    pub fn remove(&mut self, id: SessionId) -> Option<Record> {
        let hash = self.hash(id);
        let slot = self.slots.find_entry(hash, |s| s.id == id).ok()?;
        Some(slot.remove().0.record)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 64);
        assert_eq!(std::mem::align_of::<Slot>(), 64);
    }

    #[test]
    fn inserts_finds_replaces_and_removes() {
        let mut table = Table::new(RandomState::default());
        let ids: Vec<SessionId> = (0..1000).map(SessionId::new_v7).collect();
        for (i, id) in ids.iter().enumerate() {
            table.insert(*id, Record::new(i as i64), 0);
        }
        assert_eq!(table.len(), 1000);
        table.insert(ids[3], Record::new(-1), 0);
        assert_eq!(table.len(), 1000);
        assert_eq!(table.get(ids[3]).map(|s| s.record.started_at), Some(-1));
        assert_eq!(table.remove(ids[4]).map(|r| r.started_at), Some(4));
        assert!(table.get(ids[4]).is_none() && table.remove(ids[4]).is_none());
        assert_eq!(table.iter().count(), 999);
    }
}
