output "jobs_queue_url" {
  value = aws_sqs_queue.jobs.url
}

output "results_queue_url" {
  value = aws_sqs_queue.results.url
}

output "dlq_url" {
  value = aws_sqs_queue.dlq.url
}
