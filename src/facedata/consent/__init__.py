"""Own participants: the consent register, withdrawals, set-up help and erasure."""
