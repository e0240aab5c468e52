-- The PIN lockout's count decays (issue 22 item 4): when the badge's last wrong PIN was
-- more than FOFAL_API_PIN_FAILURE_DECAY_S ago, the next one counts as the first again
-- (api/accounts.c). NULL: no failure recorded since this column exists (counts as decayed).
ALTER TABLE identity_ops.accounts ADD COLUMN IF NOT EXISTS pin_failed_at timestamptz;
