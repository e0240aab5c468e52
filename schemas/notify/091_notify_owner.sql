-- Rules that also reach the person an event is about (notify.rule.set "owner": a locked
-- badge's or account's holder, an overdue action's owner), and the notifier's look-up of
-- the messages it made for a condition (an overdue action: event_id
-- "overdue:<nc>:<action>:<due>").
ALTER TABLE notify.rules ADD COLUMN owner boolean NOT NULL DEFAULT false;
CREATE INDEX messages_event ON notify_ops.messages (tenant, event_type, event_id);
