package ipam

// Config is how this allocator hands out blocks, in the terms of Calico's
// IPAMConfiguration (calicoctl ipam show --show-configuration prints it).
// It is fixed, not read from the datastore:
//   - StrictAffinity false: a node whose blocks are full and that finds no
//     free block to claim borrows a free address from another node's block
//     (claimOrBorrow).
//   - AutoAllocateBlocks true: a node claims a new block of a pool when its
//     own blocks are full.
//   - MaxBlocksPerHost 0: a node may claim any number of blocks.
type Config struct {
	StrictAffinity     bool `json:"strictAffinity"`
	AutoAllocateBlocks bool `json:"autoAllocateBlocks"`
	MaxBlocksPerHost   int  `json:"maxBlocksPerHost"`
}

// CurrentConfig is the configuration this allocator implements.
func CurrentConfig() Config { return Config{AutoAllocateBlocks: true} }
