-- Orders driven by the order fulfilment process (processes/order-fulfilment.bpmn): TM Forum TMF622
-- states on the order row, the fields of a TMF622 intake, every transition as an event (the
-- order's milestones), what each item reserved and activated in the network, the contract an
-- order signs, and the accounting system's id of the billing account an order opens.

-- TMF622 state names; the process moves them, the API only reads them.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
UPDATE orders SET status = 'acknowledged' WHERE status IN ('draft', 'submitted');
UPDATE orders SET status = 'inProgress' WHERE status = 'in_progress';
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'acknowledged';
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('acknowledged', 'inProgress', 'pending', 'held', 'assessingCancellation', 'cancelled', 'completed', 'failed', 'partial', 'rejected'));

ALTER TABLE orders
  -- The channel's own id for the order: a second capture with it is the same order.
  ADD COLUMN external_id              text CHECK (length(external_id) BETWEEN 1 AND 100),
  ADD COLUMN description              text CHECK (length(description) <= 4000),
  ADD COLUMN requested_start_date     timestamptz,
  ADD COLUMN state_reason             text CHECK (length(state_reason) <= 1000),
  ADD COLUMN contract_id              text REFERENCES contracts (id),
  ADD COLUMN cancellation_reason      text CHECK (length(cancellation_reason) <= 1000),
  ADD COLUMN cancellation_requested_at timestamptz,
  ADD COLUMN created_by               text;
CREATE UNIQUE INDEX orders_external_id ON orders (account_id, external_id) WHERE external_id IS NOT NULL;

-- TMF622 item actions: 'delete' is the standard's name for what was 'remove'.
ALTER TABLE order_items DROP CONSTRAINT order_items_action_check;
UPDATE order_items SET action = 'delete' WHERE action = 'remove';
ALTER TABLE order_items ADD CONSTRAINT order_items_action_check CHECK (action IN ('add', 'modify', 'delete'));
ALTER TABLE order_items
  -- The caller's id of the item (TMF622 productOrderItem.id), unique within the order.
  ADD COLUMN item_ref         text CHECK (length(item_ref) BETWEEN 1 AND 64),
  ADD COLUMN bandwidth_mbps   integer CHECK (bandwidth_mbps BETWEEN 1 AND 100000),
  ADD COLUMN site_address     text CHECK (length(site_address) BETWEEN 1 AND 300),
  -- What the network knows the item by once reserved, and the reservation.
  ADD COLUMN network_service_id text CHECK (length(network_service_id) BETWEEN 1 AND 100),
  ADD COLUMN reservation_id   text CHECK (length(reservation_id) BETWEEN 1 AND 100),
  ADD COLUMN activated_at     timestamptz;

-- What the network provisions a catalogue product as (provisioning's productCode); null: nothing to
-- provision (mobile plans, cloud, SMS bundles are billed only).
ALTER TABLE products ADD COLUMN network_product_code text CHECK (network_product_code ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$');
ALTER TABLE products ADD COLUMN default_bandwidth_mbps integer CHECK (default_bandwidth_mbps BETWEEN 1 AND 100000);
UPDATE products SET network_product_code = 'DIA', default_bandwidth_mbps = 100 WHERE id = 'DIA-100M';
UPDATE products SET network_product_code = 'DIA', default_bandwidth_mbps = 1000 WHERE id = 'DIA-1G';
UPDATE products SET network_product_code = 'MPLS-VPN', default_bandwidth_mbps = 50 WHERE id = 'MPLS-VPN-50M';
UPDATE products SET network_product_code = 'SDWAN', default_bandwidth_mbps = 100 WHERE id = 'SDWAN-BASIC';
UPDATE products SET network_product_code = 'VOICE-TRUNK', default_bandwidth_mbps = 10 WHERE id = 'SIP-TRUNK-30';
UPDATE products SET network_product_code = 'IDC-RACK', default_bandwidth_mbps = 1000 WHERE id = 'IDC-RACK-42U';

-- A network service a subscription rides on (the provisioning system's service id): a delete
-- releases it.
ALTER TABLE subscriptions ADD COLUMN network_service_id text CHECK (length(network_service_id) BETWEEN 1 AND 100);

-- The accounting system's id of a billing account an order opened there.
ALTER TABLE billing_accounts ADD COLUMN accounting_id text UNIQUE CHECK (length(accounting_id) BETWEEN 1 AND 100);

-- Every transition of an order, keyed by the idempotency key of the step that made it: a retried
-- step finds its event and applies nothing twice. The events are the order's milestones.
CREATE TABLE order_events (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id         text NOT NULL REFERENCES orders (id),
  idempotency_key  text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  event            text NOT NULL CHECK (length(event) BETWEEN 1 AND 40),
  state_before     text,
  state_after      text NOT NULL,
  actor            text NOT NULL,
  details          jsonb NOT NULL DEFAULT '{}',
  at               timestamptz NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

ALTER TABLE staff_notices ADD COLUMN order_id text REFERENCES orders (id);
