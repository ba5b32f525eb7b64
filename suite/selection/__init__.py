"""What a run selects: named profiles and option parsing (profiles), shards (shard)."""
