DROP TABLE notice_tickets;
