DROP TABLE entitlement_requests;
