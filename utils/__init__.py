"""Leaf helpers imported by every package and importing none: errors, flag domains, seeding, progress,
gradient maths and the allocator setting."""
