DROP TABLE fraud_events;
